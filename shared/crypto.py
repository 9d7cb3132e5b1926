"""Application-level encryption of personal data at rest (ID-card numbers, salaries).

AES-256-GCM with a key from settings: a value is sealed before it is written (to the change
log and the list view alike) and opened when it is read, so a copy of the database — a
backup, an operator's query — shows `gh1:…` instead of the number. The key is a file of 32
random bytes, base64-encoded (`gonghui keygen` writes one); production refuses the checked-in
development key, as it does for the signing keys.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "gh1:"  # version of the format, so a later key or cipher can sit next to this one


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        return cls(base64.b64decode(path.read_text().strip()))

    def seal(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, token: str) -> str:
        if not token.startswith(PREFIX):
            raise ValueError("not a sealed value")
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()


def new_key() -> str:
    """A fresh data key, as the text of its file."""
    return base64.b64encode(os.urandom(32)).decode() + "\n"
