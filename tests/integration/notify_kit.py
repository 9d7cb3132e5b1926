"""What notify's integration tests share: events put on the real topics, a local HTTP server
standing in for WeCom and the SMS gateway (records requests, fails on demand), waits."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiokafka import AIOKafkaProducer

from shared.envelope import CloudEvent
from shared.events import IntegrationEvent, sequence_of
from tests.integration.conftest import Stack


@dataclass
class Recorded:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]
    status: int  # what the server answered


@dataclass
class ChannelServer:
    """WeCom's `gettoken` and `message/send`, and an SMS gateway's `POST /v1/messages`."""

    port: int = 0
    fail: bool = False
    requests: list[Recorded] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sent(self, path: str) -> list[Recorded]:
        """The requests to `path` the server accepted."""
        return [r for r in self.requests if r.path == path and r.status == 200]


@contextmanager
def channel_server() -> Iterator[ChannelServer]:
    state = ChannelServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            state.requests.append(
                Recorded(
                    parts.path,
                    parse_qs(parts.query),
                    dict(self.headers),
                    body,
                    500 if state.fail else 200,
                )
            )
            if state.fail:
                self.send_response(500)
                self.end_headers()
                return
            if parts.path == "/cgi-bin/gettoken":
                answer: dict[str, Any] = {"errcode": 0, "access_token": "tok-1", "expires_in": 7200}
            else:
                answer = {"errcode": 0, "errmsg": "ok"}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


async def publish(
    stack: Stack,
    event: IntegrationEvent,
    *,
    subject: str,
    campus: str,
    version: int = 1,
    key: str | None = None,
    envelope: CloudEvent | None = None,
) -> CloudEvent:
    """Put an event on its topic as its publisher would (validated against the catalog)."""
    envelope = envelope or event.envelope(
        source="test",
        subject=subject,
        campus=campus,
        sequence=sequence_of(version),
        partitionkey=key,
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            stack.topic(event.topic), envelope.to_json_bytes(), key=envelope.kafka_key.encode()
        )
    finally:
        await producer.stop()
    return envelope
