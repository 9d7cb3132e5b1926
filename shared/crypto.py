"""Application-level encryption of secrets at rest and in flight.

Two tools, both AES-256-GCM underneath:

- `Sealer` (a symmetric key one service holds): personal data at rest (ID-card numbers,
  salaries, password hashes, uploaded rows) and web's session tokens. A value is sealed
  before it is written and opened when it is read, so a copy of the database — a backup, an
  operator's query — shows `gh2:…` instead of the number. Every sealed value is bound to
  where it belongs by associated data (the record's id and the field's name): a value copied
  onto another member's record, or into another field, does not open.
- `seal_for` / `Box` (an X25519 key pair): a secret one service hands another over a topic
  (a login link members mints and notify mails). The sender holds only the recipient's
  public key; what is on the topic (and in the sender's outbox) opens only with the
  recipient's private key. Each message has its own ephemeral key (ECIES: X25519, HKDF-SHA256,
  AES-GCM), and it is bound to its context (the event type and the member) likewise.

Formats are versioned by their prefix: `gh1:` is the first format, without associated data;
it is still read, so data sealed before the binding opens, and `reseal` turns it into `gh2:`
(members does it once at start, see `shared/reseal.py`). Key files: a data key is 32 random
bytes, base64-encoded; a box key is a PEM X25519 key (`gonghui keygen` writes them all);
production refuses the checked-in development keys (`shared/settings.py`).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

UNBOUND = "gh1:"  # the first format: no associated data (read, never written any more)
PREFIX = "gh2:"  # sealed with associated data: the record and field it belongs to
BOX = "ghbox1:"  # sealed for a recipient's X25519 public key


class SealError(ValueError):
    """Not a sealed value, the wrong key, or a value moved away from where it was sealed."""


def context_of(*parts: str) -> bytes:
    """The associated data for a place: its parts, unambiguously joined (a unit separator
    cannot appear in an id or a field name)."""
    return "\x1f".join(parts).encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text)
    except ValueError as exc:
        raise SealError("not a sealed value") from exc


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the data key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> Sealer:
        return cls(base64.b64decode(path.read_text().strip()))

    def seal(self, plaintext: str, *where: str) -> str:
        """Seal `plaintext` for the place `where` (e.g. the record's id, the field's name)."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context_of(*where))
        return PREFIX + _b64(nonce + sealed)

    def open(self, token: str, *where: str) -> str:
        """The plaintext of a value sealed for `where`; SealError if it was sealed for another
        place (moved), with another key, or altered. A `gh1:` value has no place to check."""
        if token.startswith(PREFIX):
            raw, aad = _unb64(token[len(PREFIX) :]), context_of(*where)
        elif token.startswith(UNBOUND):
            raw, aad = _unb64(token[len(UNBOUND) :]), None
        else:
            raise SealError("not a sealed value")
        try:
            return self._aead.decrypt(raw[:12], raw[12:], aad).decode()
        except InvalidTag as exc:
            raise SealError("the value does not open here (moved, altered or another key)") from exc

    def seal_bytes(self, data: bytes, *where: str) -> bytes:
        """Bytes (an uploaded file) sealed for `where`, as bytes: no base64 on top of a large
        document, which has to stay under the 16 MB of a MongoDB document."""
        nonce = os.urandom(12)
        return PREFIX.encode() + nonce + self._aead.encrypt(nonce, data, context_of(*where))

    def open_bytes(self, sealed: bytes, *where: str) -> bytes:
        head = PREFIX.encode()
        if not sealed.startswith(head):
            raise SealError("not a sealed value")
        raw = sealed[len(head) :]
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context_of(*where))
        except InvalidTag as exc:
            raise SealError("the value does not open here (moved, altered or another key)") from exc

    def reseal(self, token: str, *where: str) -> str | None:
        """The value in the current format, bound to `where`; None when it is already."""
        if not token.startswith(UNBOUND):
            return None
        return self.seal(self.open(token), *where)


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith((PREFIX, UNBOUND, BOX))


def new_key() -> str:
    """A fresh data key, as the text of its file."""
    return base64.b64encode(os.urandom(32)).decode() + "\n"


# -- sealed for a recipient -------------------------------------------------------------------


def _box_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    info = b"gonghui box v1" + ephemeral + recipient
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(shared)


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)


def load_recipient(path: Path) -> X25519PublicKey:
    """The recipient's public key (PEM) a sender seals for."""
    key = s.load_pem_public_key(path.read_bytes())
    if not isinstance(key, X25519PublicKey):
        raise ValueError(f"{path} is not an X25519 public key")
    return key


def seal_for(recipient: X25519PublicKey, plaintext: str, *where: str) -> str:
    """Seal `plaintext` so that only the holder of the recipient's private key opens it,
    bound to `where` (e.g. the event type and the member it is for)."""
    ephemeral = X25519PrivateKey.generate()
    mine, theirs = _raw(ephemeral.public_key()), _raw(recipient)
    key = _box_key(ephemeral.exchange(recipient), mine, theirs)
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context_of(*where))
    return BOX + _b64(mine + nonce + sealed)


class Box:
    """The recipient's side: opens what was sealed for its public key."""

    def __init__(self, private_key: X25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()

    @classmethod
    def from_file(cls, path: Path) -> Box:
        key = s.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, X25519PrivateKey):
            raise ValueError(f"{path} is not an X25519 private key")
        return cls(key)

    def open(self, token: str, *where: str) -> str:
        if not token.startswith(BOX):
            raise SealError("not a sealed value")
        raw = _unb64(token[len(BOX) :])
        ephemeral, nonce, sealed = raw[:32], raw[32:44], raw[44:]
        try:
            shared = self._key.exchange(X25519PublicKey.from_public_bytes(ephemeral))
            key = _box_key(shared, ephemeral, _raw(self.public_key))
            return AESGCM(key).decrypt(nonce, sealed, context_of(*where)).decode()
        except (InvalidTag, ValueError) as exc:
            raise SealError("the value does not open here (moved, altered or another key)") from exc


def new_box_keys() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair, as the PEM texts of its (private, public) files."""
    key = X25519PrivateKey.generate()
    private = key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())
    public = key.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)
    return private, public
