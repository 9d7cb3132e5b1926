"""A local HTTP receiver for webhook tests: records every request, answers what it is told.

Runs in a thread (http.server), so it is a real TCP peer on 127.0.0.1 with its own port.
`answers[path]` is the status to answer on that path (default 204); 3xx answers carry a
`Location` to `/landed`, which records it if ever followed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    requests: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    def start(self) -> Receiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                owner.requests.append(Received(self.path, headers, body))
                status = owner.answers.get(self.path, 204)
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "/landed")
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
