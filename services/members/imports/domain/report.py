"""The import's report: what happens to each row, its problems, the counts and the verdict."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from shared.vocabulary.members import ImportOutcome as Outcome
from shared.vocabulary.members import ProblemLevel as Level


class Problem(BaseModel):
    """One thing wrong with the file, a row or a cell."""

    row: int | None = Field(description="Excel 行号（表头为第 1 行）；整个文件的问题为空")
    column: str | None = Field(description="列名（中文）")
    cell: str | None = Field(None, description="单元格位置，如 F7")
    code: str = Field(description="稳定的问题代码，如 member.invalid_phone")
    message: str = Field(description="中文说明")
    level: Level


class RowResult(BaseModel):
    """What happens (or would happen) to one row."""

    row: int = Field(description="Excel 行号")
    staff_no: str | None = None
    name: str | None = None
    campus: str | None = None
    outcome: Outcome
    changed: list[str] = Field(default_factory=list, description="更新时改变的列")
    problems: list[Problem] = Field(default_factory=list)


class Counts(BaseModel):
    rows: int = Field(0, description="数据行数")
    create: int = Field(0, description="新增")
    update: int = Field(0, description="更新")
    unchanged: int = Field(0, description="无变化")
    refused: int = Field(0, description="有误")
    duplicate: int = Field(0, description="重复行（已忽略）")
    warnings: int = Field(0, description="有提醒的行")


def count(results: Iterable[RowResult]) -> Counts:
    counts = Counts()
    for r in results:
        counts.rows += 1
        setattr(counts, r.outcome.value, getattr(counts, r.outcome.value) + 1)
        if r.outcome is not Outcome.duplicate and any(p.level is Level.warning for p in r.problems):
            counts.warnings += 1
    return counts


@dataclass
class Verdict:
    """The job's outcome in one Chinese sentence, and whether anything was written."""

    written: bool
    summary: str
    notes: list[str] = field(default_factory=list)


def verdict(counts: Counts, commit: bool, written: bool, file_ok: bool) -> Verdict:
    if not file_ok:
        return Verdict(False, "文件无法导入，请按提示修改后重新上传")
    parts = [f"共 {counts.rows} 行"]
    verb = "" if written else "可"
    for outcome in (Outcome.create, Outcome.update, Outcome.unchanged):
        key, label = outcome.value, outcome.label
        n = getattr(counts, key)
        if n:
            parts.append(f"{verb if key != 'unchanged' else ''}{label} {n} 行")
    if counts.duplicate:
        parts.append(f"重复行 {counts.duplicate} 行（已忽略）")
    if counts.refused:
        parts.append(f"有误 {counts.refused} 行")
    text = "，".join(parts)
    if not commit:
        return Verdict(False, f"检查完成（未写入）：{text}")
    if written:
        tail = "；有误的行未导入" if counts.refused else ""
        return Verdict(True, f"导入完成：{text}{tail}")
    return Verdict(
        False,
        f"有 {counts.refused} 行有误，未导入任何数据：{text}。请改正后重新导入，或选择只导入正确的行",
    )
