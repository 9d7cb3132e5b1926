"""WeCom (企业微信) application messages and SMS, through HTTP adapters.

Both have a configurable base URL and credentials (settings; production refuses missing or
development secrets): the real services in production, a local server in tests. Connection
errors and timeouts are outages (`ChannelDown`); an HTTP error or an error code in the answer
refuses the message (`ChannelRefused`). Redirects are not followed.
"""

from __future__ import annotations

import time

import httpx

from services.notify.channels.base import ChannelDown, ChannelRefused, Message
from services.notify.routing.domain import ChannelName
from services.notify.settings import NotifySettings

OUTAGE = (httpx.ConnectError, httpx.TimeoutException, httpx.RemoteProtocolError)


def _client(base_url: str, timeout_s: float) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=timeout_s, follow_redirects=False)


class WeComChannel:
    """`gettoken` (corp id + app secret → access token, cached), then `message/send`."""

    name = ChannelName.wecom

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._token: tuple[str, float] | None = None

    async def _access_token(self, http: httpx.AsyncClient) -> str:
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        answer = await http.get(
            "/cgi-bin/gettoken",
            params={
                "corpid": self.settings.wecom_corp_id,
                "corpsecret": self.settings.wecom_secret.get_secret_value(),
            },
        )
        data = _json(answer, "gettoken")
        token = str(data["access_token"])
        ttl = float(data.get("expires_in", 7200)) - 120
        self._token = (token, time.monotonic() + ttl)
        return token

    async def send(self, message: Message) -> None:
        s = self.settings
        try:
            async with _client(s.wecom_base_url, s.channel_timeout_s) as http:
                token = await self._access_token(http)
                answer = await http.post(
                    "/cgi-bin/message/send",
                    params={"access_token": token},
                    json={
                        "touser": message.to,
                        "msgtype": "text",
                        "agentid": s.wecom_agent_id,
                        "text": {"content": f"{message.title}\n{message.text}"},
                        "safe": 0,
                    },
                )
                _json(answer, "message/send")
        except OUTAGE as exc:
            raise ChannelDown(f"WeCom {s.wecom_base_url} unreachable: {exc!r}") from exc
        except ChannelRefused:
            self._token = None  # a token refused early (40014, 42001): the next try gets one
            raise


class SmsChannel:
    """A JSON SMS gateway: `POST /v1/messages` with a bearer API key and the union's sign."""

    name = ChannelName.sms

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    async def send(self, message: Message) -> None:
        s = self.settings
        try:
            async with _client(s.sms_base_url, s.channel_timeout_s) as http:
                answer = await http.post(
                    "/v1/messages",
                    headers={"Authorization": f"Bearer {s.sms_api_key.get_secret_value()}"},
                    json={
                        "phone": message.to,
                        "sign": s.sms_sign,
                        "content": f"【{s.sms_sign}】{message.title}：{message.text}"[:500],
                    },
                )
                _json(answer, "sms")
        except OUTAGE as exc:
            raise ChannelDown(f"SMS gateway {s.sms_base_url} unreachable: {exc!r}") from exc


def _json(answer: httpx.Response, what: str) -> dict:
    if answer.status_code >= 300:
        raise ChannelRefused(f"{what}: HTTP {answer.status_code}")
    try:
        data = answer.json()
    except ValueError as exc:
        raise ChannelRefused(f"{what}: answer is not JSON") from exc
    if not isinstance(data, dict):
        raise ChannelRefused(f"{what}: unexpected answer")
    if data.get("errcode", 0) not in (0, None):
        raise ChannelRefused(f"{what}: errcode {data.get('errcode')} {data.get('errmsg', '')}")
    return data
