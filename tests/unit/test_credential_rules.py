"""Sealing rules (shared/crypto.py) and the keys production refuses: pure, no I/O but key files."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.web.settings import WebSettings
from shared.crypto import (
    BOX,
    PREFIX,
    Box,
    Sealer,
    SealError,
    load_recipient,
    new_box_keys,
    seal_for,
)
from shared.settings import DEV_LINK_PRIVATE_KEY, DEV_LINK_PUBLIC_KEY, DEV_WEB_KEY

KEY = os.urandom(32)


def old_format(plaintext: str) -> str:
    """What the first format (`gh1:`, no associated data) wrote."""
    nonce = os.urandom(12)
    raw = nonce + AESGCM(KEY).encrypt(nonce, plaintext.encode(), None)
    return "gh1:" + base64.urlsafe_b64encode(raw).decode()


def test_a_sealed_value_opens_only_where_it_was_sealed():
    sealer = Sealer(KEY)
    sealed = sealer.seal("110101199003070018", "members", "m-1", "id_number")
    assert sealed.startswith(PREFIX) and "110101199003070018" not in sealed
    assert sealer.open(sealed, "members", "m-1", "id_number") == "110101199003070018"
    with pytest.raises(SealError):
        sealer.open(sealed, "members", "m-2", "id_number")  # moved to another member
    with pytest.raises(SealError):
        sealer.open(sealed, "members", "m-1", "salary_base_fen")  # moved to another field
    with pytest.raises(SealError):
        Sealer(os.urandom(32)).open(sealed, "members", "m-1", "id_number")  # another key
    # The parts are joined unambiguously: ("a", "bc") is not ("ab", "c").
    with pytest.raises(SealError):
        sealer.open(sealer.seal("x", "a", "bc"), "ab", "c")


def test_old_format_values_still_open_and_reseal_binds_them():
    sealer = Sealer(KEY)
    old = old_format("600000")
    assert sealer.open(old, "members", "m-1", "salary_base_fen") == "600000"
    new = sealer.reseal(old, "members", "m-1", "salary_base_fen")
    assert new is not None and new.startswith(PREFIX)
    assert sealer.open(new, "members", "m-1", "salary_base_fen") == "600000"
    with pytest.raises(SealError):
        sealer.open(new, "members", "m-9", "salary_base_fen")
    assert sealer.reseal(new, "members", "m-1", "salary_base_fen") is None  # already current
    with pytest.raises(SealError):
        sealer.open("600000", "members", "m-1", "salary_base_fen")  # clear text is no value


def test_bytes_are_sealed_for_their_place():
    sealer = Sealer(KEY)
    content = "工号,姓名,身份证号\nT1,王芳,110101199003070018\n".encode()
    sealed = sealer.seal_bytes(content, "uploads", "imp-1", "m-1")
    assert b"110101199003070018" not in sealed
    assert sealer.open_bytes(sealed, "uploads", "imp-1", "m-1") == content
    with pytest.raises(SealError):
        sealer.open_bytes(sealed, "uploads", "imp-2", "m-1")
    with pytest.raises(SealError):
        sealer.open_bytes(content, "uploads", "imp-1", "m-1")


def test_sealed_for_notify_opens_only_with_its_private_key_for_that_member(tmp_path):
    notify = Box.from_file(DEV_LINK_PRIVATE_KEY)
    members_side = load_recipient(DEV_LINK_PUBLIC_KEY)
    path = "/login/link#token=abcDEF123_-xyz"
    sealed = seal_for(members_side, path, "login_link.v2", "m-1")
    assert sealed.startswith(BOX) and "abcDEF123" not in sealed
    assert seal_for(members_side, path, "login_link.v2", "m-1") != sealed  # fresh each time
    assert notify.open(sealed, "login_link.v2", "m-1") == path
    with pytest.raises(SealError):
        notify.open(sealed, "login_link.v2", "m-2")  # put on another member's event
    other_private, _ = new_box_keys()
    key_file = tmp_path / "other.pem"
    key_file.write_bytes(other_private)
    other = Box.from_file(key_file)
    with pytest.raises(SealError):
        other.open(sealed, "login_link.v2", "m-1")
    with pytest.raises(SealError):
        notify.open(path, "login_link.v2", "m-1")


def test_production_refuses_the_dev_link_and_web_keys(monkeypatch):
    monkeypatch.setenv("GONGHUI_ENV", "production")
    monkeypatch.setenv("GONGHUI_AUTH_PUBLIC_KEY_FILE", "/etc/gonghui/signing.pub.pem")
    monkeypatch.setenv(
        "GONGHUI_DATA_KEY_FILE", "/etc/gonghui/data.key"
    )  # notify opens e-mail confirmations
    with pytest.raises(ValueError, match=r"dev-link\.pem"):
        NotifySettings()
    monkeypatch.setenv("GONGHUI_LINK_PRIVATE_KEY_FILE", "/etc/gonghui/link.pem")
    with pytest.raises(ValueError, match=r"dev-webhook\.key"):
        NotifySettings()
    monkeypatch.setenv("GONGHUI_WEBHOOK_KEY_FILE", "/etc/gonghui/webhook.key")
    assert NotifySettings().env == "production"
    monkeypatch.setenv("GONGHUI_WEBHOOK_ALLOW_LOCAL", "true")  # local testing only
    with pytest.raises(ValueError, match="WEBHOOK_ALLOW_LOCAL"):
        NotifySettings()
    monkeypatch.delenv("GONGHUI_WEBHOOK_ALLOW_LOCAL")
    with pytest.raises(ValueError, match=r"dev-web\.key"):
        WebSettings()
    monkeypatch.setenv("GONGHUI_WEB_KEY_FILE", "/etc/gonghui/web.key")
    assert WebSettings().env == "production"
    monkeypatch.setenv("GONGHUI_AUTH_PRIVATE_KEY_FILE", "/etc/gonghui/signing.pem")
    with pytest.raises(ValueError, match=r"dev-link\.pub\.pem"):
        MembersSettings()


def test_production_refuses_a_copy_of_the_dev_link_key(monkeypatch, tmp_path):
    copy = tmp_path / "link.pem"
    copy.write_bytes(DEV_LINK_PRIVATE_KEY.read_bytes())
    monkeypatch.setenv("GONGHUI_ENV", "production")
    monkeypatch.setenv("GONGHUI_AUTH_PUBLIC_KEY_FILE", "/etc/gonghui/signing.pub.pem")
    monkeypatch.setenv("GONGHUI_LINK_PRIVATE_KEY_FILE", str(copy))
    monkeypatch.setenv("GONGHUI_DATA_KEY_FILE", "/etc/gonghui/data.key")
    with pytest.raises(ValueError, match="development key"):
        NotifySettings()


def test_keygen_writes_keys_production_accepts_and_that_work_together(
    monkeypatch, tmp_path, capsys
):
    from shared.cli import main

    assert main(["keygen", "--out", str(tmp_path)]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.split())
    for name, value in printed.items():
        monkeypatch.setenv(name, value)
    for secret in ("link.pem", "web.key", "data.key"):
        assert (tmp_path / secret).stat().st_mode & 0o077 == 0  # readable by its owner only
    monkeypatch.setenv("GONGHUI_ENV", "production")
    members, notify, web = MembersSettings(), NotifySettings(), WebSettings()
    sealed = seal_for(load_recipient(members.link_public_key_file), "/login/link#token=t", "m")
    assert Box.from_file(notify.link_private_key_file).open(sealed, "m") == "/login/link#token=t"
    with pytest.raises(SealError):  # its own key: the dev key does not open what it seals
        Sealer.from_file(DEV_WEB_KEY).open(Sealer.from_file(web.web_key_file).seal("x"))
