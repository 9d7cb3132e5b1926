"""The platform's own keys: what `gonghui keygen` makes, and where the services read them.

Every secret a running platform needs is one line of `KEYS`: the environment variable the
services read (pointing at a file), the file's name in the key directory, and how a fresh
one is made. `gonghui keygen --out DIR` writes every file that is missing (0600) and keeps
the ones already there, so it is safe to run on every start (`make run` does; compose runs
it once as the `keygen` job); it prints the variables to set. Adding a key is adding a line.

The keys checked in under deploy/dev-keys are for the test suite only: a service refuses to
start on them unless GONGHUI_ENV is development or test (shared/settings.py).
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.settings import REPO_ROOT


def _signing_private(_: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization as s
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    return key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())


def _signing_public(directory: Path) -> bytes:
    """The public half of the signing key already in `directory` (made just before)."""
    from cryptography.hazmat.primitives import serialization as s

    private = s.load_pem_private_key((directory / "signing.pem").read_bytes(), password=None)
    return private.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)


def _box_private(_: Path) -> bytes:
    """notify's X25519 key for login links (members holds only the public half)."""
    from shared.crypto import new_box_keys

    return new_box_keys()[0]


def _box_public(directory: Path) -> bytes:
    from cryptography.hazmat.primitives import serialization as s

    private = s.load_pem_private_key((directory / "link.pem").read_bytes(), password=None)
    return private.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo)


def _aes_key(_: Path) -> bytes:
    """32 random bytes, base64 (shared/crypto.py's Sealer reads this)."""
    return base64.b64encode(os.urandom(32)) + b"\n"


def _secret_text(_: Path) -> bytes:
    return secrets.token_hex(32).encode() + b"\n"


@dataclass(frozen=True)
class Key:
    variable: str  # the GONGHUI_*_FILE setting that points at the file
    file: str  # its name in the key directory
    make: Callable[[Path], bytes]  # a fresh one (given the directory, for derived keys)
    public: bool = False  # a public key: readable by all, not only the owner


# In the order they are made: a derived key comes after the one it is derived from.
KEYS: tuple[Key, ...] = (
    Key("GONGHUI_AUTH_PRIVATE_KEY_FILE", "signing.pem", _signing_private),
    Key("GONGHUI_AUTH_PUBLIC_KEY_FILE", "signing.pub.pem", _signing_public, public=True),
    Key("GONGHUI_DATA_KEY_FILE", "data.key", _aes_key),
    Key("GONGHUI_CALENDAR_SECRET_FILE", "calendar.secret", _secret_text),
    Key("GONGHUI_LINK_PRIVATE_KEY_FILE", "link.pem", _box_private),
    Key("GONGHUI_LINK_PUBLIC_KEY_FILE", "link.pub.pem", _box_public, public=True),
    Key("GONGHUI_WEB_KEY_FILE", "web.key", _aes_key),
    # events: the one-way tokens of anonymous survey answers and suggestions
    Key("GONGHUI_VOICE_SECRET_FILE", "voice.secret", _secret_text),
)


def ensure_keys(directory: Path) -> dict[str, str]:
    """Every key file in `directory`, made where missing; the variables that point at them."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    env: dict[str, str] = {}
    for key in KEYS:
        path = directory / key.file
        if not path.is_file():
            # Created with its final mode: the secret is never readable by others, even briefly.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644 if key.public else 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key.make(directory))
        env[key.variable] = str(path)
    return env


def local_key_dir() -> Path:
    """Where `make run` keeps its keys: var/keys (GONGHUI_LOCAL_VAR moves var/)."""
    return Path(os.environ.get("GONGHUI_LOCAL_VAR") or REPO_ROOT / "var") / "keys"


def signing_key_for_cli() -> Path:
    """The private key a command-line token is signed with: $GONGHUI_AUTH_PRIVATE_KEY_FILE,
    else the one `make run` made (so its tokens work against the running platform), else the
    checked-in development key (which only a development or test platform accepts)."""
    from shared.settings import DEV_PRIVATE_KEY

    if os.environ.get("GONGHUI_AUTH_PRIVATE_KEY_FILE"):
        return Path(os.environ["GONGHUI_AUTH_PRIVATE_KEY_FILE"])
    local = local_key_dir() / "signing.pem"
    return local if local.is_file() else DEV_PRIVATE_KEY


__all__ = ["KEYS", "Key", "ensure_keys", "local_key_dir", "signing_key_for_cli"]
