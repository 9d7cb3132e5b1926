"""Mutual-aid rules without I/O: who may enrol, ID numbers, the claim table, who reads an
enrolment."""

from __future__ import annotations

from datetime import date

import pytest

from services.welfare.mutualaid.domain import (
    TRANSITIONS,
    Claim,
    ClaimStatus,
    Enrolment,
    Scheme,
    SchemeSettings,
    clean_id_number,
    eligible,
    mask_id_number,
    refusal,
)
from services.welfare.mutualaid.handlers import may_act_for, may_read_enrolment, sees_id_numbers
from shared.errors import Conflict, Forbidden, Invalid, Refused
from shared.principal import Principal

VALID = "110101199003070011"


def scheme(kind: str = "women", **over) -> Scheme:
    settings = SchemeSettings(
        name="女职工特殊疾病互助保障",
        kind=kind,
        insurer="互助会",
        premium_fen=3000,
        enrol_until=date(2027, 3, 31),
        **over,
    )
    return Scheme.new("main", 2027, "w", settings)


def person(**over) -> dict:
    return {"_id": "m1", "campus": "main", "status": "active", "gender": "female", **over}


def test_women_only_refuses_men_and_deadline_binds_members_not_cadres():
    before, after = date(2027, 3, 31), date(2027, 4, 1)
    refusal(scheme(), person(), before, by_cadre=False)
    with pytest.raises(Refused) as refused:
        refusal(scheme(), person(gender="male"), before, by_cadre=False)
    assert refused.value.code == "mutual_aid.women_only"
    assert refused.value.message == "「女职工特殊疾病互助保障」仅限女职工参加"
    refusal(scheme("major_illness"), person(gender="male"), before, by_cadre=False)
    with pytest.raises(Conflict):
        refusal(scheme(), person(), after, by_cadre=False)
    refusal(scheme(), person(), after, by_cadre=True)
    with pytest.raises(Refused):
        refusal(scheme(), person(status="retired"), before, by_cadre=True)


def test_retirees_take_part_only_where_the_scheme_says_so():
    on = date(2027, 3, 1)
    assert SchemeSettings.model_fields["retirees"].default is False
    retiree = person(status="retired")
    with pytest.raises(Refused) as refused:
        eligible(scheme(), retiree)
    assert refused.value.code == "mutual_aid.retirees_excluded"
    assert refused.value.status == 422
    assert refused.value.message == "「女职工特殊疾病互助保障」未开放退休会员参加"
    with pytest.raises(Refused):
        refusal(scheme(), retiree, on, by_cadre=True)  # a cadre cannot enrol them either
    taking = scheme(retirees=True)
    eligible(taking, retiree)
    refusal(taking, retiree, on, by_cadre=False)
    with pytest.raises(Refused) as man:  # the scheme's other rules still hold for retirees
        refusal(taking, person(status="retired", gender="male"), on, by_cadre=False)
    assert man.value.code == "mutual_aid.women_only"
    for status in ("withdrawn", "deceased", "applied", None):
        with pytest.raises(Refused) as gone:
            eligible(taking, person(status=status))
        assert gone.value.code == "mutual_aid.not_eligible"
    # A revision carries the setting (and a scheme stored before it had none: no retirees).
    revised = scheme()
    revised.revise(
        SchemeSettings(**{**taking.model_dump(include=set(SchemeSettings.model_fields))}),
        enrolled=True,
    )
    assert revised.retirees is True
    stored = scheme().model_dump()
    stored.pop("retirees")
    assert Scheme.model_validate(stored).retirees is False


def test_id_numbers_checked_and_masked():
    assert clean_id_number("１１０１０１１９９００３０７００１１") == VALID
    with pytest.raises(Invalid, match="校验位"):
        clean_id_number("110101199003070012")
    with pytest.raises(Invalid, match="18 位"):
        clean_id_number("12345")
    assert mask_id_number(VALID) == "1101**********0011"


def test_claims_follow_the_table():
    enrolment = Enrolment.new(scheme(), person(), VALID, 3, date(2027, 3, 1))
    claim = Claim.new("clm-000000000001", enrolment, 10_000, date(2027, 5, 1))
    with pytest.raises(Conflict):
        claim.move(ClaimStatus.paid, 10_000, None)
    claim.move(ClaimStatus.with_insurer, None, None)
    with pytest.raises(Invalid):
        claim.move(ClaimStatus.refused, None, None)  # a reason is required
    claim.move(ClaimStatus.paid, 8_000, None)
    assert claim.paid_fen == 8_000
    for to in ClaimStatus:
        assert (ClaimStatus.paid, to) not in TRANSITIONS
        assert (ClaimStatus.refused, to) not in TRANSITIONS


def test_the_auditor_reads_enrolments_of_its_campus_masked_and_acts_for_nobody():
    auditor = Principal("aud-1", frozenset({"auditor", "member"}), frozenset({"main"}))
    may_read_enrolment(auditor, "main", "m1")  # the premium is on the ledger it checks
    assert not sees_id_numbers(auditor, "main")
    with pytest.raises(Forbidden) as elsewhere:
        may_read_enrolment(auditor, "east", "m1")
    assert elsewhere.value.code == "auth.campus_forbidden"
    with pytest.raises(Forbidden):
        may_act_for(auditor, "main", "m1")  # enrolling or claiming for someone: not theirs
    member = Principal("m2", frozenset({"member"}), frozenset({"main"}))
    may_read_enrolment(member, "main", "m2")
    with pytest.raises(Forbidden):
        may_read_enrolment(member, "main", "m1")
