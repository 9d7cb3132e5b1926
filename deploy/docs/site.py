"""MkDocs hook (`hooks:` in mkdocs.yml): the reference pages, made from the generated documents.

`python -m deploy.docs` writes `docs/api/<service>.openapi.json` and `docs/events/asyncapi.json`
(checked in; `--check` keeps them current). At build time this hook turns each into a page of
the site — `reference/api/<service>.md` and `reference/events.md` — so the navigation has the
HTTP APIs and the event catalog without a second, hand-kept copy in git. The JSON files
themselves are published next to the pages for tools (Swagger UI, AsyncAPI Studio, codegen).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

METHODS = ("get", "post", "put", "patch", "delete")


def cell(text: str) -> str:
    """One line of a Markdown table cell."""
    return re.sub(r"\s+", " ", text).replace("|", "\\|").strip()


def first_sentence(text: str) -> str:
    line = cell(text)
    end = line.find(". ")
    return line if end < 0 else line[: end + 1]


def openapi_page(service: str, doc: dict[str, Any]) -> str:
    info = doc.get("info", {})
    lines = [
        f"# {info.get('title', service)}",
        "",
        cell(info.get("description", "")),
        "",
        f"Generated from [`docs/api/{service}.openapi.json`](../../api/{service}.openapi.json) "
        f"(OpenAPI {doc.get('openapi', '3')}), which `make docs` regenerates from the code. "
        "A running service shows the same document interactively at `/docs` "
        "(see [Running it](../../operator/index.md)). Every route needs a bearer token "
        "unless it says public; errors are RFC 9457 problems "
        "([Calling the APIs](../../integration/http-api.md)).",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in doc.get("paths", {}).items():
        for method, op in operations.items():
            if method in METHODS:
                tag = (op.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((method.upper(), path, op))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", "", "| route | what | answers |", "| --- | --- | --- |"]
        for method, path, op in sorted(by_tag[tag], key=lambda row: (row[1], row[0])):
            what = first_sentence(op.get("description") or op.get("summary", ""))
            answers = ", ".join(sorted(op.get("responses", {})))
            lines.append(f"| `{method} {cell(path)}` | {what} | {answers} |")
        lines.append("")
    return "\n".join(lines)


def asyncapi_page(doc: dict[str, Any], docs: Path) -> str:
    info = doc.get("info", {})
    lines = [
        f"# {info.get('title', 'Events')}",
        "",
        "Generated from [`docs/events/asyncapi.json`](../events/asyncapi.json) "
        f"(AsyncAPI {doc.get('asyncapi', '3')}) and the JSON Schema of each event type in "
        "`docs/events/schemas/`; `make docs` regenerates them from the event contracts in "
        "`shared/events/`. How to subscribe: [Subscribing](../integration/events.md).",
        "",
        info.get("description", ""),
        "",
    ]
    subscribers: dict[str, list[str]] = {}
    for op in doc.get("operations", {}).values():
        if op.get("action") == "receive":
            channel = op.get("channel", {}).get("$ref", "").rsplit("/", 1)[-1]
            subscribers.setdefault(channel, []).append(op.get("title", ""))
    messages = doc.get("components", {}).get("messages", {})
    channels = doc.get("channels", {})
    for name, channel in sorted(channels.items()):
        if name.endswith(".dlq"):
            continue  # one section for all of them, below
        lines += [f"## `{channel.get('address', name)}`", "", cell(channel.get("description", ""))]
        if subscribers.get(name):
            lines += ["", "Inside Gonghui: " + "; ".join(sorted(subscribers[name])) + "."]
        types = sorted(channel.get("messages", {}))
        if types:
            lines += ["", "| event type | what | schema |", "| --- | --- | --- |"]
            for event_type in types:
                message = messages.get(event_type, {})
                what = first_sentence(message.get("description") or message.get("summary", ""))
                schema = f"events/schemas/{event_type}.json"
                link = f"[JSON Schema](../{schema})" if (docs / schema).is_file() else "—"
                lines.append(f"| `{event_type}` | {what} | {link} |")
        lines.append("")
    dead = sorted(name for name in channels if name.endswith(".dlq"))
    if dead:
        letter = messages.get("dead-letter", {})
        lines += [
            "## Dead letters",
            "",
            "Each topic has a dead-letter topic, `<topic>.dlq`. "
            + cell(letter.get("description", "")),
            "",
            ", ".join(f"`{name}`" for name in dead),
            "",
        ]
    return "\n".join(lines)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    docs = Path(config.docs_dir)
    for path in sorted((docs / "api").glob("*.openapi.json")):
        service = path.name.removesuffix(".openapi.json")
        page = openapi_page(service, json.loads(path.read_text()))
        files.append(File.generated(config, f"reference/api/{service}.md", content=page))
    catalog = docs / "events" / "asyncapi.json"
    if catalog.is_file():
        page = asyncapi_page(json.loads(catalog.read_text()), docs)
        files.append(File.generated(config, "reference/events.md", content=page))
    return files
