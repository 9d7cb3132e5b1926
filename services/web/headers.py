"""Security headers on every response web sends (pages, fragments, static files, errors).

- Content-Security-Policy: scripts and styles only from web itself — no inline script, no
  `onclick="…"`, no eval (htmx runs with allowEval off, Alpine is its CSP build); images from
  web and `data:` (the check-in QR is a data URL, so it still shows offline); no plugin, no
  `<base>` hijack, forms post only to web, and no other site may frame a page
  (`frame-ancestors 'none'`: clickjacking of the check-in desk or the withdraw button).
- X-Content-Type-Options: nosniff — an uploaded or proxied file is never run as a script.
- Referrer-Policy: same-origin — addresses of member pages (ids) never leave for other sites.
- Strict-Transport-Security when web is served over https (the request came as https, or web
  is configured with Secure cookies, which says so): browsers then never try http again.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"

HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),  # for browsers older than frame-ancestors
]


class SecurityHeaders:
    """Pure ASGI (not BaseHTTPMiddleware): adds the headers without buffering a response."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = self.https or scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in present]
                if over_https:
                    headers.append((b"strict-transport-security", HSTS.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
