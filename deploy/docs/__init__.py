"""Generated API documentation: OpenAPI per service, the event catalog, and the CI checks.

`python -m deploy.docs` writes

- `docs/api/<service>.openapi.json`   each service's HTTP API (from its FastAPI app),
- `docs/events/asyncapi.json`          AsyncAPI 3.0.0: topics, DLQs, messages, who sends and
                                       who receives,
- `docs/events/schemas/<type>.json`    one JSON Schema per event type (`data` of the envelope).

`python -m deploy.docs --check` regenerates in memory and fails when the checked-in files
differ, and when an event type that was published changed incompatibly (see `compat`).

Building the apps needs no server, database or broker: the composition roots only create
(lazy) clients; `no_network()` turns any connection attempt into an error to keep it so.
"""

from __future__ import annotations

import json
import os
import pkgutil
import socket
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

from deploy.docs.asyncapi import asyncapi_document, event_schemas
from deploy.docs.compat import catalog_problems

REPO_ROOT = Path(__file__).resolve().parents[2]
API_DIR = "docs/api"
EVENTS_DIR = "docs/events"
SCHEMAS_DIR = f"{EVENTS_DIR}/schemas"
ASYNCAPI = f"{EVENTS_DIR}/asyncapi.json"


def render(doc: Any) -> str:
    """Stable JSON text: sorted keys, two spaces, UTF-8 as is, trailing newline."""
    return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def schema_path(event_type: str) -> str:
    return f"{SCHEMAS_DIR}/{event_type}.json"


# Services without an API contract: the web front end renders pages for browsers (its routes
# are not for other programs), owns no aggregate and publishes or consumes no event.
FRONT_ENDS = frozenset({"web"})


def service_names() -> list[str]:
    """Every `services/<name>/` with a `bootstrap.py` composition root and an API contract."""
    import services

    return sorted(
        m.name
        for m in pkgutil.iter_modules(services.__path__)
        if m.ispkg
        and m.name not in FRONT_ENDS
        and (Path(services.__path__[0]) / m.name / "bootstrap.py").is_file()
    )


def project_version(root: Path = REPO_ROOT) -> str:
    with (root / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]["version"]


@contextmanager
def clean_environment(prefix: str = "GONGHUI_") -> Iterator[None]:
    """Generate from code defaults only: a developer's GONGHUI_* variables must not leak in."""
    saved = {k: v for k, v in os.environ.items() if k.startswith(prefix)}
    for key in saved:
        del os.environ[key]
    # Built by the services' own composition roots, which refuse the development keys in
    # production (the default); nothing here serves a request or holds data.
    os.environ[f"{prefix}ENV"] = "development"
    try:
        yield
    finally:
        del os.environ[f"{prefix}ENV"]
        os.environ.update(saved)


@contextmanager
def no_network() -> Iterator[None]:
    """Any socket connection attempt inside raises: docs are built from code alone."""
    originals = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"docs generation tried to open a network connection: {args[1:]!r}")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex, socket.create_connection = originals  # type: ignore[method-assign]


@dataclass
class Catalog:
    """Everything `make docs` writes: repo-relative path -> file text."""

    files: dict[str, str]
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)


def generate(root: Path = REPO_ROOT) -> Catalog:
    """Build every document in memory, from code (apps, event models, topics, routes)."""
    files: dict[str, str] = {}
    subscriptions: dict[str, dict[str, list[str]]] = {}
    groups: dict[str, str] = {}
    with clean_environment(), no_network():
        for name in service_names():
            runtime = import_module(f"services.{name}.bootstrap").bootstrap(configure_logs=False)
            files[f"{API_DIR}/{name}.openapi.json"] = render(runtime.app.openapi())
            subscriptions[name] = {
                event_type: sorted(handlers)
                for event_type, handlers in runtime.consumer.routes.items()
            }
            groups[name] = runtime.settings.consumer_group
        schemas = event_schemas()
        document = asyncapi_document(
            version=project_version(root), subscriptions=subscriptions, consumer_groups=groups
        )
    files[ASYNCAPI] = render(document)
    for event_type, schema in schemas.items():
        files[schema_path(event_type)] = render(schema)
    return Catalog(files=dict(sorted(files.items())), schemas=schemas)


def is_managed(path: str) -> bool:
    """The files this generator owns (anything else under docs/ is left alone)."""
    return (
        path.startswith(f"{API_DIR}/") and path.endswith(".openapi.json") and path.count("/") == 2
    ) or path.startswith(f"{EVENTS_DIR}/")


def read_checked_in(root: Path = REPO_ROOT) -> dict[str, str]:
    """The managed files as they are on disk now."""
    found: dict[str, str] = {}
    for base in (API_DIR, EVENTS_DIR):
        for path in sorted((root / base).rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and is_managed(rel):
                found[rel] = path.read_text(encoding="utf-8")
    return found


def stale_files(generated: dict[str, str], checked_in: dict[str, str]) -> list[str]:
    """Human-readable differences between generated and checked-in files (empty: in sync)."""
    out = []
    for path in sorted(generated.keys() | checked_in.keys()):
        if path not in checked_in:
            out.append(f"{path}: missing (not generated yet)")
        elif path not in generated:
            out.append(f"{path}: no longer generated (stale)")
        elif generated[path] != checked_in[path]:
            out.append(f"{path}: differs from what the code generates")
    return out


def schemas_in(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """event type -> schema, for the schema files among `files`."""
    prefix, suffix = f"{SCHEMAS_DIR}/", ".json"
    return {
        path[len(prefix) : -len(suffix)]: json.loads(text)
        for path, text in files.items()
        if path.startswith(prefix) and path.endswith(suffix) and "/" not in path[len(prefix) :]
    }


class BaselineError(RuntimeError):
    pass


def published_schemas(base: str, root: Path = REPO_ROOT) -> dict[str, dict[str, Any]]:
    """The event schemas as committed at git revision `base` (the published catalog).

    `base="disk"` takes the files in the working tree instead (no git needed).
    """
    if base == "disk":
        return schemas_in(read_checked_in(root))

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BaselineError(f"git {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    try:
        git("rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    except (BaselineError, OSError) as exc:
        raise BaselineError(f"no git revision {base!r} to read the published catalog from") from exc
    listing = git("ls-tree", "-r", "--name-only", base, "--", f"{SCHEMAS_DIR}/")
    return schemas_in({p: git("show", f"{base}:{p}") for p in listing.splitlines() if p})


@dataclass
class CheckResult:
    stale: list[str]
    breaking: list[str]

    @property
    def ok(self) -> bool:
        return not self.stale and not self.breaking


def check(
    catalog: Catalog, checked_in: dict[str, str], published: dict[str, dict[str, Any]]
) -> CheckResult:
    """Both CI checks, without I/O: files in sync, and no breaking change to a published event."""
    return CheckResult(
        stale=stale_files(catalog.files, checked_in),
        breaking=catalog_problems(published, catalog.schemas),
    )


def write(catalog: Catalog, root: Path = REPO_ROOT) -> list[str]:
    """Write the generated files and remove managed files no longer generated; returns changes."""
    changed = []
    current = read_checked_in(root)
    for rel, text in catalog.files.items():
        if current.get(rel) != text:
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            changed.append(f"wrote {rel}")
    for rel in sorted(current.keys() - catalog.files.keys()):
        (root / rel).unlink()
        changed.append(f"removed {rel}")
    return changed
