"""Policy caps and festival plans as pure rules: amounts in words, the cap's refusal, the
plan's terms against the profile, and an entitlement's life."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.welfare.funds.chart import current_chart
from services.welfare.plans.domain import (
    Entitlement,
    EntitlementStatus,
    GiftOption,
    Plan,
    PlanStatus,
    PlanTerms,
    check_terms,
)
from services.welfare.policy.domain import Standing, breach, check_payment, in_words
from services.welfare.policy.profile import Category, Festival, GiftForm, current_profile
from shared.errors import Conflict, Invalid, Refused

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fen", "words"),
    [
        (0, "零元整"),
        (200_000, "贰仟元整"),
        (50_000, "伍佰元整"),
        (123_450, "壹仟贰佰叁拾肆元伍角整"),
        (100_501, "壹仟零伍元零壹分"),
        (1_000_000_00, "壹佰万元整"),
        (1_000_100_00, "壹佰万零壹佰元整"),
        (7, "柒分"),
    ],
)
def test_amounts_in_words(fen: int, words: str):
    assert in_words(fen) == words


def test_the_profile_is_data_with_its_source_and_says_its_figures_are_examples():
    profile = current_profile()
    assert profile.region == "江苏省" and profile.example_figures
    assert "总工办发〔2017〕32号" in profile.source
    assert {GiftForm.cash, GiftForm.shopping_card} == profile.refused_forms
    assert set(profile.caps) == set(Category)
    assert profile.cap(Category.womens_day).only_gender == "female"


def test_a_breach_states_cap_used_and_remaining():
    problem = breach(Standing(Category.festival, 2026, 200_000, 150_000), 60_000)
    assert isinstance(problem, Refused) and problem.status == 422
    assert problem.details["remaining_fen"] == 50_000
    assert problem.details["remaining_words"] == "伍佰元整"
    assert "上限 2000.00 元" in problem.message


def test_a_single_payment_meets_its_category():
    profile = current_profile()
    with pytest.raises(Refused, match="只发给女会员"):
        check_payment(profile.cap(Category.womens_day), 100, "male")
    check_payment(profile.cap(Category.womens_day), 100, "female")
    with pytest.raises(Refused) as refused:
        check_payment(profile.cap(Category.birthday), 30_001)
    assert refused.value.code == "welfare.cap_exceeded_once"


def terms(**over) -> PlanTerms:
    values = {
        "title": "端午节福利",
        "festival": Festival.dragon_boat,
        "year": 2026,
        "campuses": ["main"],
        "standard_fen": 30_000,
        "options": [
            GiftOption(code="zongzi", name="粽子", price_fen=30_000, form=GiftForm.food),
            GiftOption(code="tea", name="茶叶", price_fen=28_000, form=GiftForm.goods),
        ],
        "reference_date": date(2026, 5, 20),
        "deadline": NOW + timedelta(days=3),
        "default_option": "zongzi",
        **over,
    }
    return PlanTerms(**values)


def test_plan_terms_follow_the_profile():
    profile, chart = current_profile(), current_chart()
    check_terms(terms(), profile, chart)
    cash = GiftOption(code="cash", name="现金", price_fen=100, form=GiftForm.cash)
    with pytest.raises(Invalid, match="现金"):
        check_terms(terms(options=[cash], default_option="cash"), profile, chart)
    dear = GiftOption(code="x", name="礼盒", price_fen=30_001, form=GiftForm.goods)
    with pytest.raises(Conflict) as over:
        check_terms(terms(options=[dear], default_option="x"), profile, chart)
    assert over.value.code == "plan.option_over_standard"
    with pytest.raises(Conflict):
        check_terms(terms(default_option="wine"), profile, chart)
    with pytest.raises(Conflict):
        check_terms(terms(standard_fen=200_001), profile, chart)


@pytest.mark.parametrize(
    ("line", "code", "said"),
    [
        ("income_dues", "funds.wrong_kind", "「会费收入」是收入科目，不能记支出"),
        ("spend_activity", "funds.heading_line", "「职工活动支出」是汇总科目"),
        ("spend_nowhere", "funds.unknown_line", "科目「spend_nowhere」不在收支科目表中"),
    ],
)
def test_a_plan_spends_from_a_spending_line_that_takes_postings(line, code, said):
    # Such a plan would be approved and published, and then every issue refused by the ledger.
    profile, chart = current_profile(), current_chart()
    with pytest.raises(Invalid) as refused:
        check_terms(terms(budget_line=line), profile, chart)
    assert (refused.value.code, refused.value.status) == (code, 422)
    assert said in refused.value.message and refused.value.details["line"] == line
    for other in ("spend_activity_festival", "spend_rights_warmth", "spend_other"):
        check_terms(terms(budget_line=other), profile, chart)  # a leaf: accepted


def plan() -> Plan:
    made = Plan.draft("p1", terms(), "cadre")
    made.pull_events()
    return made


def test_a_plan_is_approved_before_it_is_published_and_closes_at_its_deadline():
    p = plan()
    with pytest.raises(Conflict):
        p.publish(NOW)
    p.approve("chair")
    p.approve("chair")  # twice is once
    assert [e.type for e in p.pull_events()] == ["welfare.plan.approved.v1"]
    p.publish(NOW)
    p.publish(NOW)
    assert [e.type for e in p.pull_events()] == ["welfare.plan.published.v1"]
    p.close(NOW)
    assert p.status is PlanStatus.published  # not yet
    p.close(p.deadline)
    assert p.status.value == "closed"


def test_eligibility_on_the_reference_date():
    p = plan()
    member = {"_id": "m1", "campus": "main", "status": "active", "joined_on": "2020-09-01"}
    assert p.eligible(member)
    assert not p.eligible({**member, "joined_on": "2026-05-21"})
    assert not p.eligible({**member, "campus": "east"})
    assert not p.eligible({**member, "status": "retired"})
    assert p.model_copy(update={"include_retirees": True}).eligible({**member, "status": "retired"})


def test_an_entitlement_is_chosen_defaulted_issued_received_or_voided():
    p = plan()
    member = {"_id": "m1", "campus": "main", "department": "艺术系"}
    e = Entitlement.new(p, member)
    assert e.id == "p1:m1" and e.cap_key == "ent:p1:m1"
    e.choose(p.option("tea"), NOW)
    assert e.status is EntitlementStatus.chosen and e.amount_fen == 28_000
    with pytest.raises(Conflict):
        e.choose(p.option("zongzi"), p.deadline)
    e.apply_default(p.option("zongzi"), p.deadline)
    assert e.option == "tea"  # a choice stays
    e.issue(p.option("zongzi"), p.deadline, "cadre", "main:2026#1")
    e.void("withdrawn")
    assert e.status.value == "issued"  # handed out: stays
    e.receive(p.deadline)
    assert e.status.value == "received"

    silent = Entitlement.new(p, {"_id": "m2", "campus": "main"})
    with pytest.raises(Conflict):
        silent.issue(p.option("zongzi"), NOW, "cadre", "x")  # before the deadline, unchosen
    silent.apply_default(p.option("zongzi"), p.deadline)
    assert silent.defaulted and silent.option == "zongzi"
    gone = Entitlement.new(p, {"_id": "m3", "campus": "main"})
    gone.void("withdrawn")
    with pytest.raises(Conflict):
        gone.receive(NOW)
