"""Fail closed: a service without keys of its own refuses to start, saying the one command
that makes them, unless it is explicitly development or test; `gonghui keygen` makes them."""

from __future__ import annotations

import os
import stat

import pytest

from services.events.settings import EventsSettings
from services.members.settings import MembersSettings
from services.notify.settings import NotifySettings
from services.web.settings import WebSettings
from services.welfare.settings import WelfareSettings
from shared import cli
from shared.auth import TokenVerifier, mint_token
from shared.crypto import Sealer
from shared.keys import KEYS, ensure_keys
from shared.settings import DEV_KEYS, Environment, ServiceSettings

EVERY_SERVICE = [MembersSettings, EventsSettings, WelfareSettings, NotifySettings, WebSettings]


@pytest.fixture
def bare(monkeypatch):
    """No GONGHUI_* variable at all: what a deployment that forgot them gets."""
    for key in list(os.environ):
        if key.upper().startswith("GONGHUI_"):
            monkeypatch.delenv(key)


def test_without_any_setting_a_service_is_production():
    assert ServiceSettings.model_fields["env"].default is Environment.production


@pytest.mark.parametrize("settings_cls", EVERY_SERVICE, ids=lambda c: c.service)
def test_a_service_without_keys_of_its_own_refuses_and_says_the_command(bare, settings_cls):
    with pytest.raises(ValueError) as refused:
        settings_cls()
    message = str(refused.value)
    assert "gonghui keygen --out" in message and "拒绝启动" in message
    assert settings_cls.service in message


@pytest.mark.parametrize("env", ["development", "test"])
@pytest.mark.parametrize("settings_cls", EVERY_SERVICE, ids=lambda c: c.service)
def test_development_and_test_start_on_the_checked_in_keys(bare, monkeypatch, env, settings_cls):
    monkeypatch.setenv("GONGHUI_ENV", env)
    assert settings_cls().env == env


def test_the_command_line_settings_need_no_key(bare):
    assert ServiceSettings().env == "production"  # `gonghui topics` on a production cluster


@pytest.mark.parametrize("settings_cls", EVERY_SERVICE, ids=lambda c: c.service)
def test_keygen_keys_start_every_service_in_production(bare, monkeypatch, tmp_path, settings_cls):
    for variable, path in ensure_keys(tmp_path).items():
        monkeypatch.setenv(variable, path)
    assert settings_cls().env == "production"


def test_keygen_makes_each_key_once_private_and_usable(tmp_path, capsys):
    assert cli.main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    printed = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert set(printed) == {k.variable for k in KEYS}
    first = {name: open(path, "rb").read() for name, path in printed.items()}
    for key in KEYS:
        mode = stat.S_IMODE(os.stat(printed[key.variable]).st_mode)
        assert mode == (0o644 if key.public else 0o600), key.file
        dev = [p.read_bytes().strip() for p in DEV_KEYS.iterdir() if p.suffix != ".md"]
        assert first[key.variable].strip() not in dev
    assert stat.S_IMODE(os.stat(tmp_path / "keys").st_mode) == 0o700
    # A second run (every `make run`, every `compose up`) keeps them.
    assert cli.main(["keygen", "--out", str(tmp_path / "keys")]) == 0
    again = {name: open(path, "rb").read() for name, path in printed.items()}
    assert again == first
    Sealer.from_file(tmp_path / "keys" / "data.key")  # 32 bytes, base64
    settings = MembersSettings(
        env="production",
        auth_private_key_file=printed["GONGHUI_AUTH_PRIVATE_KEY_FILE"],
        auth_public_key_file=printed["GONGHUI_AUTH_PUBLIC_KEY_FILE"],
        data_key_file=printed["GONGHUI_DATA_KEY_FILE"],
        link_public_key_file=printed["GONGHUI_LINK_PUBLIC_KEY_FILE"],
    )
    token = mint_token("m-1", ["member"], ["main"], private_key_file=settings.auth_private_key_file)
    verifier = TokenVerifier(settings.auth_public_key_file, settings.auth_issuer)
    assert verifier.verify(token).subject == "m-1"


def test_the_calendar_secret_comes_from_its_file(bare, tmp_path):
    env = ensure_keys(tmp_path)
    events = EventsSettings(
        env="production",
        auth_public_key_file=env["GONGHUI_AUTH_PUBLIC_KEY_FILE"],
        calendar_secret_file=env["GONGHUI_CALENDAR_SECRET_FILE"],
        voice_secret_file=env["GONGHUI_VOICE_SECRET_FILE"],
    )
    assert events.calendar_secret == (tmp_path / "calendar.secret").read_text().strip()
    assert events.voice_secret == (tmp_path / "voice.secret").read_text().strip()
    assert events.voice_secret != events.calendar_secret
    assert len(events.calendar_secret) == 64
