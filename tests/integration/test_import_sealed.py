"""An import's dry run on the real servers never tells whether the file's ID number or salary
base equals the stored one: it says only that the file sets the column."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Stack, join
from tests.integration.test_members_import import run_import

pytestmark = pytest.mark.integration

RIGHT = "110101199003074514"
WRONG = "110101198501010025"


async def test_a_dry_run_answers_alike_for_a_right_and_a_wrong_guess(module_stack: Stack):
    stack = module_stack
    await join(stack, "S0001", name="陈静", department="艺术系", id_number=RIGHT)

    async def guess(id_number: str, salary_yuan: str) -> list[tuple]:
        text = f"工号,姓名,校区,部门,身份证号,会费基数\nS0001,陈静,main,艺术系,{id_number},{salary_yuan}\n"
        report = await run_import(stack, text.encode())
        assert report["written"] is False
        return [(r["outcome"], r["changed"], r["problems"]) for r in report["rows"]]

    right = await guess(RIGHT, "5000")
    wrong = await guess(WRONG, "5000.01")
    assert right == wrong == [("update", ["身份证号", "会费基数"], [])]
