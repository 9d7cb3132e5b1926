"""The funds rules without I/O: the chart, budgets, payments within budget, reversals, and
the check that proves a ledger (hash chain, numbering, balances)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.welfare.funds.chart import LineKind, current_chart, parse_chart
from services.welfare.funds.domain import (
    GENESIS,
    EntryKind,
    LedgerState,
    adopt,
    amend,
    apply,
    entry_id,
    figures,
    over_threshold,
    pay,
    receive,
    reverse,
    reversible,
    sealed,
    verify,
)
from shared.errors import Conflict, Invalid

CHART = current_chart()
FESTIVAL = "spend_activity_festival"
CHAIN = "main:2026"


def test_the_chart_is_the_national_rules_lines_with_its_source():
    names = {line.name for line in CHART.lines}
    for name in ("会费收入", "拨缴经费收入", "上级补助收入", "行政补助收入", "其他收入"):
        assert name in names
    for name in ("职工活动支出", "文体活动", "节日慰问", "生日慰问", "维权支出", "困难帮扶"):
        assert name in names
    assert "总工办发〔2017〕32号" in CHART.source
    assert CHART.version and CHART.effective.year == 2018
    assert {c.name for c in CHART.children("spend_rights")} >= {"困难帮扶", "送温暖"}
    assert {c.name for c in CHART.children("spend_business")} >= {"培训", "会议"}
    assert CHART.is_leaf("spend_other")


def test_the_chart_refuses_a_duplicate_code_and_a_stray_parent():
    line = '{"code": "income_x", "name": "x", "kind": "income"}'
    head = '{"version": "1", "effective": "2020-01-01", "source": "s", "lines": ['
    with pytest.raises(ValueError):
        parse_chart(head + line + "," + line + "]}")
    child = '{"code": "spend_y", "name": "y", "kind": "spending", "parent": "income_x"}'
    with pytest.raises(ValueError):
        parse_chart(head + line + "," + child + "]}")
    with pytest.raises(ValueError):  # a dot would be a path in a stored map
        parse_chart(head + '{"code": "income.x", "name": "x", "kind": "income"}]}')


@pytest.mark.parametrize(
    ("code", "kind", "error"),
    [
        ("nope", LineKind.spending, "funds.unknown_line"),
        ("income_dues", LineKind.spending, "funds.wrong_kind"),
        ("spend_activity", LineKind.spending, "funds.heading_line"),
    ],
)
def test_money_goes_on_a_leaf_line_of_its_kind(code, kind, error):
    with pytest.raises(Invalid) as caught:
        CHART.postable(code, kind)
    assert caught.value.code == error


def adopted(fen: int = 100_000) -> LedgerState:
    return adopt(LedgerState(), {FESTIVAL: fen}, CHART)


def test_a_budget_is_adopted_once():
    state = adopted()
    assert state.adopted and state.budget == {FESTIVAL: 100_000}
    with pytest.raises(Conflict) as caught:
        adopt(state, {FESTIVAL: 1}, CHART)
    assert caught.value.code == "funds.budget_adopted"


def test_a_payment_within_budget_and_refused_beyond_it_with_the_figures():
    state = pay(adopted(), FESTIVAL, 60_000, CHART)
    assert state.spent[FESTIVAL] == 60_000 and state.balance_fen == -60_000
    state = pay(state, FESTIVAL, 40_000, CHART)  # exactly to zero is allowed
    assert state.remaining(FESTIVAL) == 0
    with pytest.raises(Conflict) as caught:
        pay(state, FESTIVAL, 1, CHART)
    assert caught.value.code == "funds.over_budget"
    assert caught.value.details["remaining_fen"] == 0
    assert caught.value.details["budget_fen"] == 100_000
    assert "余额 0.00 元" in caught.value.message


def test_no_payment_before_the_budget_but_income_any_time():
    with pytest.raises(Conflict) as caught:
        pay(LedgerState(), FESTIVAL, 1, CHART)
    assert caught.value.code == "funds.no_budget"
    state = receive(LedgerState(), "income_dues", 4_550, CHART)
    assert state.income == {"income_dues": 4_550} and state.balance_fen == 4_550


@pytest.mark.parametrize("amount", [0, -1, 10_000_000_001])
def test_amounts_are_positive_whole_fen(amount):
    with pytest.raises(Invalid):
        pay(adopted(), FESTIVAL, amount, CHART)


def test_an_amendment_moves_the_budget_never_below_what_is_spent():
    state = pay(adopted(), FESTIVAL, 70_000, CHART)
    assert amend(state, FESTIVAL, 50_000, CHART).budget[FESTIVAL] == 150_000
    assert amend(state, FESTIVAL, -30_000, CHART).budget[FESTIVAL] == 70_000
    with pytest.raises(Conflict) as caught:
        amend(state, FESTIVAL, -30_001, CHART)
    assert caught.value.code == "funds.budget_below_spent"
    with pytest.raises(Conflict):
        amend(LedgerState(), FESTIVAL, 1, CHART)


def test_a_reversal_puts_a_payment_or_an_income_back():
    state = pay(adopted(), FESTIVAL, 70_000, CHART)
    back = reverse(state, EntryKind.payment, FESTIVAL, 70_000)
    assert back.spent[FESTIVAL] == 0 and back.balance_fen == 0
    income = receive(LedgerState(), "income_dues", 500, CHART)
    assert reverse(income, EntryKind.income, "income_dues", 500).income["income_dues"] == 0
    with pytest.raises(Conflict):
        reversible({"kind": "reversal", "seq": 3})
    with pytest.raises(Conflict):
        reversible({"kind": "budget_adopted", "seq": 1})


def test_the_threshold_is_ninety_percent_of_a_budget():
    assert not over_threshold(pay(adopted(), FESTIVAL, 89_999, CHART), FESTIVAL)
    assert over_threshold(pay(adopted(), FESTIVAL, 90_000, CHART), FESTIVAL)
    assert not over_threshold(LedgerState(), FESTIVAL)  # no budget: nothing to pass


# -- the check --------------------------------------------------------------------------------


def ledger(*steps: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries as the store writes them: each sealed onto the one before."""
    entries: list[dict[str, Any]] = []
    state = LedgerState()
    for seq, (kind, fields) in enumerate(steps, start=1):
        entry = {
            "_id": entry_id(CHAIN, seq),
            "chain": CHAIN,
            "campus": "main",
            "year": 2026,
            "seq": seq,
            "kind": kind,
            "key": f"k{seq}",
            "by": "finance-1",
            "at": datetime(2026, 5, seq, 8, 0, 0, 123000, tzinfo=UTC),
            "occurred_on": f"2026-05-{seq:02d}",
            **fields,
        }
        state = apply(state, entry, CHART)
        entry["state"] = state.model_dump()
        entries.append(sealed(entry, entries[-1] if entries else None))
    return entries


def sample() -> list[dict[str, Any]]:
    return ledger(
        ("budget_adopted", {"lines": {FESTIVAL: 100_000}, "amount_fen": 100_000}),
        ("income", {"line": "income_dues", "amount_fen": 4_550}),
        ("payment", {"line": FESTIVAL, "amount_fen": 30_000, "cause": "端午慰问"}),
        (
            "reversal",
            {
                "line": FESTIVAL,
                "amount_fen": 30_000,
                "reverses": 3,
                "reverses_kind": "payment",
            },
        ),
        ("payment", {"line": FESTIVAL, "amount_fen": 25_000}),
    )


def test_an_untouched_ledger_is_proved_intact():
    entries = sample()
    check = verify(CHAIN, list(reversed(entries)), CHART)  # order does not matter
    assert check.intact, check.findings
    assert check.entries == 5 and check.head_seq == 5 and check.head_hash == entries[-1]["hash"]
    assert entries[0]["prev_hash"] == GENESIS
    assert check.state.spent[FESTIVAL] == 25_000
    assert "完整" in check.say()


def codes(check) -> set[tuple[int, str]]:
    return {(f.seq, f.code) for f in check.findings}


def test_an_altered_amount_is_caught_at_its_entry():
    entries = sample()
    entries[2]["amount_fen"] = 3_000  # someone edits the payment in the database
    check = verify(CHAIN, entries, CHART)
    assert not check.intact
    assert (3, "funds.check.altered") in codes(check)
    assert (3, "funds.check.balance_mismatch") in codes(check)


def test_an_altered_entry_with_its_hash_recomputed_breaks_the_next_link():
    entries = sample()
    entries[2]["cause"] = "改过的事由"
    entries[2] = sealed({k: v for k, v in entries[2].items() if k != "hash"}, entries[1])
    check = verify(CHAIN, entries, CHART)
    assert codes(check) == {(4, "funds.check.broken_link")}


def test_a_missing_entry_is_caught():
    entries = sample()
    del entries[1]
    check = verify(CHAIN, entries, CHART)
    assert (2, "funds.check.missing") in codes(check)
    assert (3, "funds.check.broken_link") in codes(check)
    assert "第 2 笔" in check.say()


def test_a_balance_that_does_not_follow_is_caught_even_with_a_good_hash():
    entries = sample()
    entries[4]["state"]["balance_fen"] += 100
    entries[4] = sealed({k: v for k, v in entries[4].items() if k != "hash"}, entries[3])
    assert codes(verify(CHAIN, entries, CHART)) == {(5, "funds.check.balance_mismatch")}


def test_a_payment_beyond_the_budget_slipped_in_is_a_broken_rule():
    entries = ledger(
        ("budget_adopted", {"lines": {FESTIVAL: 100}, "amount_fen": 100}),
    )
    forged = {
        **{k: v for k, v in entries[0].items() if k not in ("hash", "prev_hash")},
        "_id": entry_id(CHAIN, 2),
        "seq": 2,
        "kind": "payment",
        "line": FESTIVAL,
        "amount_fen": 500,
        "lines": None,
    }
    entries.append(sealed(forged, entries[0]))
    assert (2, "funds.check.rule_broken") in codes(verify(CHAIN, entries, CHART))


def test_figures_give_budget_against_actual_by_line_heading_and_month():
    entries = sample()
    state = LedgerState.model_validate(entries[-1]["state"])
    by_code = {f.code: f for f in figures(entries, state, CHART)}
    festival = by_code[FESTIVAL]
    assert (festival.budget_fen, festival.actual_fen, festival.remaining_fen) == (
        100_000,
        25_000,
        75_000,
    )
    assert festival.used_pct == 25.0
    assert festival.by_month == {"2026-05": 25_000}  # 30,000 − 30,000 reversed + 25,000
    assert by_code["spend_activity"].actual_fen == 25_000  # the heading sums its lines
    assert by_code["income_dues"].actual_fen == 4_550 and by_code["income_dues"].used_pct is None


def test_the_export_puts_each_amount_in_its_column_and_defuses_formulas():
    from services.welfare.funds.sheets import HEADERS, rows

    entries = sample()
    entries[2]["cause"] = '=HYPERLINK("http://x")'
    table = list(rows(entries, CHART))
    column = {name: i for i, name in enumerate(HEADERS)}
    payment, reversal = table[2], table[3]
    assert payment[column["支出（元）"]] == "300.00" and payment[column["收入（元）"]] == ""
    assert payment[column["事由"]].startswith("'=")  # text, never a formula
    assert reversal[column["支出（元）"]] == "-300.00" and reversal[column["冲正序号"]] == 3
    assert table[1][column["收入（元）"]] == "45.50"
    assert table[0][column["预算变动（元）"]] == "1000.00"
    assert table[-1][column["哈希"]] == entries[-1]["hash"]


def test_a_reversal_that_does_not_match_its_original_is_caught():
    entries = sample()
    entries[3]["reverses"] = 2  # now claims to put back the income, as a payment
    entries[3] = sealed({k: v for k, v in entries[3].items() if k != "hash"}, entries[2])
    entries[4] = sealed({k: v for k, v in entries[4].items() if k != "hash"}, entries[3])
    assert codes(verify(CHAIN, entries, CHART)) == {(4, "funds.check.bad_reversal")}


def test_a_field_added_to_entries_later_leaves_older_hashes_as_they_were(monkeypatch):
    from services.welfare.funds import domain

    entries = sample()
    monkeypatch.setattr(domain, "HASHED", (*domain.HASHED, "payee"))
    assert all(domain.entry_hash(e) == e["hash"] for e in entries)
    assert domain.entry_hash({**entries[2], "payee": "m-1"}) != entries[2]["hash"]
    assert domain.entry_hash({**entries[2], "cause": None}) != entries[2]["hash"]
