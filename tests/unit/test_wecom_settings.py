"""WeCom (企业微信) sign-in is off unless switched on, and then refuses to start half-configured,
and in production on a development secret or a plain-http WeCom address; the authorize URL
web builds is WeCom's documented one."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from services.members.bootstrap import wecom_of
from services.members.settings import MembersSettings
from services.web.providers import STATE_TTL_S, WeComProvider, state_of
from services.web.settings import WebSettings
from shared.crypto import Sealer, new_key
from shared.keys import ensure_keys

WECOM: dict[str, Any] = {
    "wecom_corp_id": "ww-corp",
    "wecom_agent_id": 1000002,
    "wecom_secret": "s3cr3t-prod-x",
}


@pytest.fixture
def bare(monkeypatch):
    for key in list(os.environ):
        if key.upper().startswith("GONGHUI_"):
            monkeypatch.delenv(key)


@pytest.fixture
def production(bare, monkeypatch, tmp_path):
    for variable, path in ensure_keys(tmp_path).items():
        monkeypatch.setenv(variable, path)


def test_off_by_default_and_no_client_is_made(bare):
    settings = MembersSettings(env="test")
    assert settings.wecom_signin is False and wecom_of(settings) is None
    assert WebSettings(env="test").wecom_signin is False
    assert MembersSettings(env="test").wecom_base_url == "https://qyapi.weixin.qq.com"


@pytest.mark.parametrize("missing", ["wecom_corp_id", "wecom_agent_id", "wecom_secret"])
def test_switched_on_without_a_value_refuses_to_start(bare, missing):
    values: dict[str, Any] = {**WECOM, missing: 0 if missing == "wecom_agent_id" else ""}
    with pytest.raises(ValueError) as refused:
        MembersSettings(env="test", wecom_signin=True, **values)
    assert f"GONGHUI_{missing.upper()}" in str(refused.value) and "拒绝启动" in str(refused.value)
    with pytest.raises(ValueError):
        WebSettings(env="test", wecom_signin=True, wecom_corp_id="", wecom_agent_id=1)


def test_production_refuses_a_development_secret_and_plain_http(production):
    ok = MembersSettings(wecom_signin=True, **WECOM)
    assert ok.env == "production" and wecom_of(ok) is not None
    with pytest.raises(ValueError, match="GONGHUI_WECOM_SECRET"):
        MembersSettings(wecom_signin=True, **{**WECOM, "wecom_secret": "dev-secret"})
    with pytest.raises(ValueError, match="https"):
        MembersSettings(wecom_signin=True, wecom_base_url="http://qyapi.example", **WECOM)
    # Development keeps a local WeCom stand-in possible.
    local = MembersSettings(
        env="development",
        wecom_signin=True,
        wecom_base_url="http://127.0.0.1:9",
        **{**WECOM, "wecom_secret": "dev-secret"},
    )
    assert local.wecom_signin


def test_the_secret_is_not_in_the_settings_repr(bare):
    settings = MembersSettings(env="test", wecom_signin=True, **WECOM)
    assert "s3cr3t-prod-x" not in repr(settings) and "s3cr3t-prod-x" not in str(
        settings.model_dump()
    )


def provider(tmp_path: Path) -> WeComProvider:
    key = tmp_path / "web.key"
    key.write_text(new_key())
    return WeComProvider(
        None,  # type: ignore[arg-type]  # start() calls nobody
        None,  # type: ignore[arg-type]
        {"wecom_state_uses": None},  # type: ignore[arg-type]
        Sealer.from_file(key),
        corp_id="ww-corp",
        agent_id=1000002,
        authorize_url="https://open.weixin.qq.com/connect/oauth2/authorize",
        public_url="https://gonghui.school.edu.cn/",
    )


def test_the_authorize_url_is_wecoms_documented_form(tmp_path):
    started = provider(tmp_path).start("/m/activities")
    assert started.authorize_url.startswith(
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=ww-corp&redirect_uri="
        "https%3A%2F%2Fgonghui.school.edu.cn%2Flogin%2Fwecom%2Fcallback&response_type=code"
        "&scope=snsapi_base&state="
    )
    assert started.authorize_url.endswith("&agentid=1000002#wechat_redirect")
    query = parse_qs(urlsplit(started.authorize_url.removesuffix("#wechat_redirect")).query)
    [state] = query["state"]
    # The cookie holds the nonce sealed; the URL only its hash.
    assert state not in started.cookie and len(state) == 64
    assert STATE_TTL_S == 600


def test_each_start_has_its_own_state(tmp_path):
    wecom = provider(tmp_path)
    states = {
        parse_qs(urlsplit(wecom.start("/m").authorize_url.split("#")[0]).query)["state"][0]
        for _ in range(20)
    }
    assert len(states) == 20
    assert state_of("a") != state_of("b")


async def test_a_state_without_its_cookie_or_altered_is_refused_before_any_write(tmp_path):
    wecom = provider(tmp_path)  # its database is None: a write would fail the test
    started = wecom.start("/m")
    state = parse_qs(urlsplit(started.authorize_url.split("#")[0]).query)["state"][0]
    assert await wecom.check_state(None, state) is None
    assert await wecom.check_state(started.cookie, None) is None
    assert await wecom.check_state(started.cookie, "0" * 64) is None
    assert await wecom.check_state(started.cookie[:-4] + "AAAA", state) is None
    (tmp_path / "other").mkdir()
    other = provider(tmp_path / "other")  # another key
    assert await other.check_state(started.cookie, state) is None
