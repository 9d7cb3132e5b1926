"""A bound on the size of any request web reads.

The largest thing anyone sends web is a member list (`GONGHUI_UPLOAD_MAX_BYTES`). A form is
parsed — a file spooled to disk — before any page sees it (the CSRF check reads the form), so
the bound is kept here, at the edge: a declared length above it is refused at once, and a body
sent without one (chunked) is counted and cut off when it passes it. The upload page still
refuses a file just above its own bound with its own message; this catches the rest.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SLACK = 1024 * 1024  # the form around the file: boundaries, the CSRF field, the file name

PAGE = (
    "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>文件过大</title>"
    "<p>上传的内容过大，请拆分后重新上传。</p></html>"
).encode()


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + SLACK

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(send)
            return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            # Past the bound: answer 413 now, and tell the app the client went away (whatever
            # it answers to that is dropped below).
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    if not refused:
                        await _refuse(send)
                        refused = True
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, watched)


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(PAGE)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": PAGE})
