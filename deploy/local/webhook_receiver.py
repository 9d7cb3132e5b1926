"""The demo's webhook receiver: what another system's endpoint does, in one small module.

`make run` starts it on 127.0.0.1 (GONGHUI_LOCAL_WEBHOOK_PORT, 8090) inside the launcher and
registers a subscription to it (deploy/local/demo/webhooks.py). It checks each request's
signature with the few lines docs/integration/webhooks.md shows, answers 204 (401 when the
signature does not verify), and writes one line per request to var/logs/webhook-receiver.log.
Like a real receiver it keeps its copy of the secret (var/webhook-receiver/secret, 0600);
notify keeps its own sealed. Loopback receivers are allowed only because `make run` is a
development platform (GONGHUI_WEBHOOK_ALLOW_LOCAL, which production refuses).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path

PATH = "/gonghui/webhook"


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """docs/integration/webhooks.md, word for word."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, s.removeprefix("v1,"))
        for s in headers["webhook-signature"].split()
    )


def port() -> int:
    return int(os.environ.get("GONGHUI_LOCAL_WEBHOOK_PORT") or 8090)


class DemoReceiver:
    def __init__(self, var: Path, log_dir: Path, listen_port: int | None = None) -> None:
        self.secret_file = var / "webhook-receiver" / "secret"
        self.log_file = log_dir / "webhook-receiver.log"
        self.port = port() if listen_port is None else listen_port
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    # -- its copy of the secret ---------------------------------------------------------------

    def has_secret(self) -> bool:
        return self.secret_file.is_file()

    def keep_secret(self, secret: str) -> None:
        self.secret_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secret + "\n")

    # -- serving ------------------------------------------------------------------------------

    async def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]  # the one given for port 0

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status = await asyncio.wait_for(self._one(reader), 10)
        except (TimeoutError, ValueError, asyncio.IncompleteReadError):
            status = 400
        reason = {204: "No Content", 401: "Unauthorized", 404: "Not Found"}.get(status, "Bad")
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        try:
            await writer.drain()
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader) -> int:
        request_line = (await reader.readline()).decode("latin-1").split()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length") or 0))
        if len(request_line) < 2 or request_line[0] != "POST" or request_line[1] != PATH:
            return 404
        secret = self.secret_file.read_text().strip() if self.has_secret() else ""
        ok = bool(secret) and "webhook-signature" in headers and verify(secret, headers, body)
        try:
            kind = json.loads(body).get("type", "?")
        except ValueError:
            kind = "?"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        verdict = "签名有效 signature ok" if ok else "签名无效 signature BAD"
        with self.log_file.open("a", encoding="utf-8") as log:
            log.write(f"{stamp} {headers.get('webhook-id', '-')} {kind} {verdict}\n")
        return 204 if ok else 401
