"""An anonymous answer waiting for its survey's close, pure: sealed to one size whatever was
answered (the longest answer the questions allow fits), opened only where it was sealed and
with the secret it was sealed with, and named once moved by an id nobody without the secret
derives from the pending one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from services.events.surveys.domain import NewSurvey, QuestionIn, check_answers, draft
from services.events.surveys.sealed import AnswerSeal, ceiling, encoded, padded
from shared.crypto import SealError

SECRET = b"a-voice-secret-for-the-unit-tests"
OPTIONS = [f"选项{i}" for i in range(20)]


def _survey(survey_id: str = "sv-000000000001"):
    cmd = NewSurvey(
        title="暑期教工活动意见征集",
        campus="main",
        anonymous=True,
        opens_at=datetime(2026, 6, 1, tzinfo=UTC),
        closes_at=datetime(2026, 6, 20, tzinfo=UTC),
        questions=[
            QuestionIn(kind="single", title="形式", options=OPTIONS),
            QuestionIn(kind="multiple", title="时间", options=OPTIONS, max_choices=20),
            QuestionIn(kind="rating", title="满意度", scale=10),
            QuestionIn(kind="ranking", title="地点", options=OPTIONS),
            QuestionIn(kind="text", title="建议", required=False, max_length=30),
            QuestionIn(kind="text", title="其他", required=False, max_length=20),
        ],
    )
    return draft(survey_id, cmd, "cadre")


def _longest(survey):
    """The longest answer the questions take: four-byte characters, every option."""
    return check_answers(
        survey,
        {
            "q1": 19,
            "q2": list(range(20)),
            "q3": 10,
            "q4": list(range(19, -1, -1)),
            "q5": "𠀀" * 30,
            "q6": "😀" * 20,
        },
    )


def test_the_longest_answer_fits_and_every_answer_is_one_size():
    survey = _survey()
    longest = _longest(survey)
    assert len(encoded(longest).encode()) <= ceiling(survey)
    shortest = check_answers(survey, {"q1": 0, "q2": [1], "q3": 1, "q4": list(range(20))})
    sizes = {len(padded(a, ceiling(survey)).encode()) for a in (longest, shortest)}
    assert sizes == {ceiling(survey)}
    seal = AnswerSeal(SECRET)
    sealed = {len(seal.seal(survey, f"p{i}", a)) for i, a in enumerate((longest, shortest))}
    assert len(sealed) == 1
    # Never cut: an answer longer than the ceiling (it cannot be) is sealed whole.
    assert padded(longest, 10) == encoded(longest)


def test_an_answer_opens_only_where_it_was_sealed_and_with_its_secret():
    survey, other = _survey(), _survey("sv-000000000002")
    given = _longest(survey)
    seal = AnswerSeal(SECRET)
    sealed = seal.seal(survey, "pending-1", given)
    assert "𠀀" not in sealed and sealed.startswith("gh2:")
    assert seal.open(survey.id, "pending-1", sealed) == given
    for survey_id, pending_id in ((survey.id, "pending-2"), (other.id, "pending-1")):
        with pytest.raises(SealError):
            seal.open(survey_id, pending_id, sealed)
    with pytest.raises(SealError):
        AnswerSeal(b"another-voice-secret-entirely").open(survey.id, "pending-1", sealed)


def test_a_moved_answer_is_named_the_same_each_time_and_only_with_the_secret():
    seal, other = AnswerSeal(SECRET), AnswerSeal(b"another-voice-secret-entirely")
    first = seal.settled_id("0123456789abcdef0123456789abcdef")
    assert first == seal.settled_id("0123456789abcdef0123456789abcdef")
    assert first != seal.settled_id("0123456789abcdef0123456789abcdee")
    assert first != other.settled_id("0123456789abcdef0123456789abcdef")
    assert first != hashlib.sha256(b"0123456789abcdef0123456789abcdef").hexdigest()
    assert len(first) == 64 and "0123456789abcdef" not in first
