"""A local server standing in for WeCom (企业微信) sign-in: `gettoken`, `auth/getuserinfo`,
and the OAuth authorize page (which sends the browser back with a code, as WeCom does).

Records every request. A code is issued with `code_for(userid)` (or `code_failing(errcode)`)
and works once, like WeCom's: a second use answers errcode 40029 (invalid code).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CORP_ID = "ww-test-corp"
AGENT_ID = 1000002
SECRET = "wecom-secret-9f3c1d2e7a"  # a value to look for in logs
ACCESS_TOKEN = "wecom-access-token-5b8e0c41"


@dataclass
class Seen:
    path: str
    query: dict[str, str]


@dataclass
class WeComServer:
    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> answer
    used: set[str] = field(default_factory=set)
    gettoken_answer: dict[str, Any] | None = None  # set: gettoken answers this instead
    # The authorize page: the user id whose code it sends back (None: the user declines).
    authorize_as: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/connect/oauth2/authorize"

    def code_for(self, userid: str) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = {"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "t"}
        return code

    def code_failing(self, errcode: int) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = {"errcode": errcode, "errmsg": "invalid code"}
        return code

    def code_of_outsider(self) -> str:
        """A person outside the corp: WeCom gives an openid, no userid."""
        code = secrets.token_hex(16)
        self.codes[code] = {"errcode": 0, "errmsg": "ok", "openid": "o-outsider"}
        return code

    def calls(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]


@contextmanager
def wecom_server() -> Iterator[WeComServer]:
    state = WeComServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.requests.append(Seen(parts.path, query))
            if parts.path == "/cgi-bin/gettoken":
                if state.gettoken_answer is not None:
                    return self._json(state.gettoken_answer)
                if query.get("corpid") != CORP_ID or query.get("corpsecret") != SECRET:
                    return self._json({"errcode": 40001, "errmsg": "invalid credential"})
                return self._json({"errcode": 0, "access_token": ACCESS_TOKEN, "expires_in": 7200})
            if parts.path == "/cgi-bin/auth/getuserinfo":
                if query.get("access_token") != ACCESS_TOKEN:
                    return self._json({"errcode": 40014, "errmsg": "invalid access_token"})
                code = query.get("code", "")
                answer = state.codes.get(code)
                if answer is None or code in state.used:
                    return self._json({"errcode": 40029, "errmsg": "invalid code"})
                state.used.add(code)
                return self._json(answer)
            if parts.path == "/connect/oauth2/authorize":
                target = query.get("redirect_uri", "")
                back = {"state": query.get("state", "")}
                if state.authorize_as is not None:
                    back["code"] = state.code_for(state.authorize_as)
                self.send_response(302)
                self.send_header("Location", f"{target}?{urlencode(back)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def members_settings(server: WeComServer) -> dict[str, Any]:
    """members' settings for WeCom sign-in against `server`."""
    return {
        "wecom_signin": True,
        "wecom_base_url": server.url,
        "wecom_corp_id": CORP_ID,
        "wecom_agent_id": AGENT_ID,
        "wecom_secret": SECRET,
    }


async def listed(view: Any, member_id: str, userid: str) -> None:
    """Wait until members' list view shows the member's WeCom id (an asynchronous
    projection, converging well under a second): the member list a cadre reads."""
    from tests.kafka_tools import wait_until

    async def shown() -> bool:
        return await view.find_one({"_id": member_id, "wecom_userid": userid}) is not None

    await wait_until(shown, 30, f"{member_id}'s WeCom id in the list view")
