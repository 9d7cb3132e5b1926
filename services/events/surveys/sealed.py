"""An anonymous answer while its survey is open: sealed, padded to one size, and given a
one-way id for the moment it is moved out at the close (see `store.py`).

- **Sealed.** AES-256-GCM (`shared.crypto.Sealer`) under a key of its own, derived from the
  events service's voice secret with HKDF-SHA256 for this one purpose (`PURPOSE`), and bound
  to its place (`survey_answer`, the survey, the pending row's id): a sealed answer copied to
  another row or survey does not open. Events holds no data key of its own; the voice secret
  is the secret it already keeps for the anonymous surveys.
- **One size.** The plaintext is padded (JSON's trailing whitespace) to the largest answer the
  survey's questions allow (`ceiling`), so the length of a sealed row says nothing about the
  length of the answer it becomes: every sealed answer of a survey is the same size.
- **One-way id.** Moved out, the answer's id is HMAC-SHA256 of the pending id under a second
  derived key (`settled_id`): the same for every flush, so a second or concurrent flush
  inserts nothing twice, and without the secret nobody holding a copy of the pending rows can
  compute which answer came from which of them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.events.surveys.domain import QuestionKind, Survey
from shared.crypto import Sealer

PURPOSE = b"gonghui survey answers sealed v1"
ID_PURPOSE = b"gonghui survey answer ids v1"
FIELD = "survey_answer"
UTF8_MAX = 4  # bytes of one code point in UTF-8, at most (an escaped `"` or `\n` takes 2)


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


def encoded(answers: Mapping[str, Any]) -> str:
    return json.dumps(answers, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def ceiling(survey: Survey) -> int:
    """The bytes of the longest answer `check_answers` lets through, as `encoded` writes it."""
    size = 2  # {}
    for q in survey.questions_list:
        size += len(q.id) + 4  # "q1": and the comma
        if q.kind in (QuestionKind.multiple, QuestionKind.ranking):
            size += 3 * len(q.options) + 1  # [i,j,…]: indexes below 100
        elif q.kind is QuestionKind.text:
            size += UTF8_MAX * q.max_length + 2
        else:
            size += 3  # an index or a score
    return size


def padded(answers: Mapping[str, Any], size: int) -> str:
    """The answers' JSON followed by spaces up to `size` bytes (never cut)."""
    text = encoded(answers)
    return text + " " * max(0, size - len(text.encode()))


class AnswerSeal:
    """Seals and opens a survey's pending answers; names them once they are moved."""

    def __init__(self, secret: bytes) -> None:
        self._sealer = Sealer(_derive(secret, PURPOSE))
        self._ids = _derive(secret, ID_PURPOSE)

    def seal(self, survey: Survey, pending_id: str, answers: Mapping[str, Any]) -> str:
        return self._sealer.seal(padded(answers, ceiling(survey)), FIELD, survey.id, pending_id)

    def open(self, survey_id: str, pending_id: str, sealed: str) -> dict[str, Any]:
        """The answers; `SealError` when the row was sealed elsewhere or with another secret."""
        answers: dict[str, Any] = json.loads(
            self._sealer.open(sealed, FIELD, survey_id, pending_id)
        )
        return answers

    def settled_id(self, pending_id: str) -> str:
        return hmac.new(self._ids, pending_id.encode(), hashlib.sha256).hexdigest()
