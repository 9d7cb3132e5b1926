"""The `gonghui` command: the platform's subcommands (shared/cli.py) and the services' own.

Composed here, above the services, so that shared imports no service. A service adds a
subcommand with an `add_parser(subparsers)` in its own cli module, listed below.

gonghui import members 新教师.xlsx [--commit] [--only-valid] [--active]
"""

from __future__ import annotations

from services.members.imports import cli as import_cli
from shared import cli as platform

# Bulk import is the members service's own client; its module says how (httpx only).
SERVICE_COMMANDS: list[platform.Subcommands] = [import_cli.add_parser]


def main(argv: list[str] | None = None) -> int:
    return platform.main(argv, SERVICE_COMMANDS)


if __name__ == "__main__":
    raise SystemExit(main())
