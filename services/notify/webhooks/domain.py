"""Pure webhook rules (Webhook 订阅): which events a subscription takes, which URLs may receive
them, how a request is signed, when the next try is. No I/O here.

Signing follows Standard Webhooks (https://www.standardwebhooks.com): the secret is
`whsec_` + base64 of random bytes; `webhook-signature` is `v1,` + base64 of
HMAC-SHA256(secret bytes, f"{webhook-id}.{webhook-timestamp}.{body}").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlsplit

from shared.aggregate import Aggregate
from shared.errors import Conflict, Invalid, Refused
from shared.events import load_all
from shared.events.notify_webhooks import (
    WebhookPaused,
    WebhookResumed,
    WebhookSecretRotated,
    WebhookSubscribed,
)
from shared.labels import Labelled

SECRET_PREFIX = "whsec_"
# Topics whose events never leave the platform by webhook: contact details and credentials
# (sealed login links, sign-ins), and the subscriptions themselves.
NEVER_OFFERED = frozenset({"members.contact", "members.account", "notify.webhook"})
MAX_TYPES = 50


class WebhookStatus(Labelled):
    active = "active", "启用中"
    paused = "paused", "已暂停"


class PauseReason(Labelled):
    manual = "manual", "管理员暂停"
    failing = "failing", "连续投递失败，已自动暂停"


class DeliveryStatus(Labelled):
    pending = "pending", "待投递"
    retrying = "retrying", "等待重试"
    delivered = "delivered", "已送达"
    failed = "failed", "失败"


class AttemptOutcome(Labelled):
    sending = "sending", "发送中"
    ok = "ok", "成功"
    failed = "failed", "失败"


# -- which events -----------------------------------------------------------------------------


def offered_types() -> list[str]:
    """Every catalogued event type a subscription may ask for."""
    return sorted(t for t, m in load_all().items() if m.topic not in NEVER_OFFERED)


def offered_filters() -> list[str]:
    """Every filter entry a subscription may hold: the types, and their prefixes (`events.`,
    `events.activity.`), for the schema and the form."""
    prefixes = {".".join(t.split(".")[:n]) + "." for t in offered_types() for n in (1, 2)}
    return sorted(prefixes) + offered_types()


def offered_topics() -> list[str]:
    return sorted({m.topic for m in load_all().values() if m.topic not in NEVER_OFFERED})


def parse_filter(entries: Iterable[str]) -> list[str]:
    """The filter as stored: each entry an exact catalogued type (`events.activity.published.v1`)
    or a prefix ending in `.` (`events.activity.`, `events.`) that names at least one."""
    offered = offered_types()
    out: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if entry.endswith("*"):
            entry = entry[:-1]
        known = entry in offered or (
            entry.endswith(".") and any(t.startswith(entry) for t in offered)
        )
        if not known:
            raise Invalid(
                "webhook.type_unknown",
                f"事件类型「{raw}」不在可订阅的事件目录中（写完整类型，或以“.”结尾的前缀）",
                event_type=raw,
            )
        if entry not in out:
            out.append(entry)
    if not out:
        raise Invalid("webhook.types_empty", "请至少选择一种事件类型")
    if len(out) > MAX_TYPES:
        raise Invalid("webhook.types_too_many", f"事件类型最多 {MAX_TYPES} 项")
    return out


def matches(types: Iterable[str], event_type: str) -> bool:
    return any(event_type == t or (t.endswith(".") and event_type.startswith(t)) for t in types)


def covers_campus(subscription_campus: str, event_campus: str) -> bool:
    return subscription_campus == "*" or subscription_campus == event_campus


# -- which URLs -------------------------------------------------------------------------------


def check_url(url: str, allow_local: bool) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL a subscription may post to; Invalid otherwise.

    https only; http only where the local-testing setting allows it. No user and password
    in the URL (they would be stored and shown in clear), no fragment.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise Invalid("webhook.url_invalid", "URL 格式不正确", url=url) from exc
    allowed = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in allowed:
        raise Invalid(
            "webhook.url_scheme", "只允许 https:// 地址（本地测试设置开启时才允许 http://）"
        )
    if not parts.hostname:
        raise Invalid("webhook.url_invalid", "URL 缺少主机名", url=url)
    if parts.username is not None or parts.password is not None:
        raise Invalid("webhook.url_credentials", "URL 中不能包含用户名或密码，请改用签名校验")
    if parts.fragment:
        raise Invalid("webhook.url_invalid", "URL 不能包含 # 片段", url=url)
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def address_refusal(address: str, allow_local: bool) -> str | None:
    """Why a resolved address may not receive webhooks (in Chinese), or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return f"{ip} 是组播或未指定地址"
    if ip.is_global:
        return None
    if allow_local:
        return None
    if ip.is_loopback:
        return f"{ip} 是本机回环地址"
    if ip.is_link_local:
        return f"{ip} 是链路本地地址"
    return f"{ip} 是内网或保留地址"


def check_addresses(host: str, addresses: Iterable[str], allow_local: bool) -> None:
    """Every address the host resolves to must be allowed (one bad one refuses them all)."""
    found = list(addresses)
    if not found:
        raise Refused("webhook.url_unresolvable", f"无法解析主机名「{host}」", host=host)
    for address in found:
        why = address_refusal(address, allow_local)
        if why is not None:
            raise Refused(
                "webhook.url_private",
                f"不允许向内网、回环、链路本地或组播地址发送 Webhook：{why}",
                host=host,
            )


# -- signing ----------------------------------------------------------------------------------


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one request."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def backoff_s(attempt: int, first_s: float, max_s: float) -> float:
    """Wait after the `attempt`-th failed try: first_s, 2×, 4× … capped at max_s."""
    return min(max_s, first_s * 2 ** (attempt - 1))


# -- the subscription -------------------------------------------------------------------------


class Subscription(Aggregate):
    """A system outside Gonghui that receives signed events by HTTP POST."""

    secret_fields = frozenset({"secret"})

    url: str
    types: list[str]
    description: str = ""
    secret: str
    status: WebhookStatus = WebhookStatus.active
    reason: str | None = None  # why paused
    created_by: str
    created_at: datetime
    # Failures before this moment do not count towards pausing again.
    resumed_at: datetime

    @classmethod
    def register(
        cls,
        id: str,
        campus: str,
        url: str,
        types: list[str],
        description: str,
        by: str,
        now: datetime,
    ) -> Subscription:
        sub = cls(
            id=id,
            campus=campus,
            url=url,
            types=types,
            description=description,
            secret=new_secret(),
            created_by=by,
            created_at=now,
            resumed_at=now,
        )
        sub.record(WebhookSubscribed.of(sub))
        return sub

    def pause(self, reason: PauseReason) -> None:
        if self.status == WebhookStatus.paused:
            return  # already: nothing to record (a second failing delivery, a double click)
        self.status = WebhookStatus.paused
        self.reason = reason.value
        self.record(WebhookPaused.of(self, reason=reason.value))

    def resume(self, now: datetime) -> None:
        if self.status == WebhookStatus.active:
            return
        self.status = WebhookStatus.active
        self.reason = None
        self.resumed_at = now
        self.record(WebhookResumed.of(self))

    def rotate_secret(self) -> str:
        self.secret = new_secret()
        self.record(WebhookSecretRotated.of(self))
        return self.secret

    def require_active(self) -> None:
        if self.status != WebhookStatus.active:
            raise Conflict("webhook.paused", "订阅已暂停，请先恢复", current=self.status.value)
