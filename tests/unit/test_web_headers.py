"""Web's security headers and cookie default, without a browser: every response (page,
fragment, static file, error) carries the policy; HSTS only over https; Secure cookies are
the default in production."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from services.web.headers import SecurityHeaders
from services.web.settings import WebSettings

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "web" / "templates"


def app(https: bool = False) -> SecurityHeaders:
    async def page(request):
        return PlainTextResponse("页", headers={"referrer-policy": "no-referrer"})

    return SecurityHeaders(Starlette(routes=[Route("/", page)]), https=https)


async def get(asgi, url: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url=url) as c:
        return await c.get("/")


async def test_every_response_carries_the_policy_and_keeps_its_own_choices():
    response = await get(app(), "http://web")
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert "unsafe" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"  # a route's own is kept
    assert "strict-transport-security" not in response.headers


@pytest.mark.parametrize(("url", "configured"), [("https://web", False), ("http://web", True)])
async def test_hsts_when_served_over_https(url, configured):
    response = await get(app(https=configured), url)
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


@pytest.mark.parametrize(
    ("env", "secure"), [("production", True), ("development", False), ("test", False)]
)
def test_cookies_are_secure_by_default_in_production(monkeypatch, env, secure):
    monkeypatch.setenv("GONGHUI_ENV", env)
    monkeypatch.setenv("GONGHUI_AUTH_PUBLIC_KEY_FILE", "/etc/gonghui/signing.pub.pem")
    monkeypatch.setenv("GONGHUI_WEB_KEY_FILE", "/etc/gonghui/web.key")
    assert WebSettings().cookie_secure is secure
    assert WebSettings(cookie_secure=not secure).cookie_secure is (not secure)


def test_no_template_has_inline_script_or_event_handlers():
    # The policy would refuse them in the browser; here they are found before that.
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template  # onclick=, onsubmit= …
        assert "hx-on" not in text and "style=" not in text, template
