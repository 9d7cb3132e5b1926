"""`python -m deploy.docs [--check] [--base REV]` (also `make docs`).

Without `--check`: regenerate `docs/api/*.openapi.json` and `docs/events/**` from code, unless
an event type that was published changed incompatibly (then nothing is written).
With `--check`: write nothing; fail when the checked-in files are not what the code generates
or when a published event type changed incompatibly.

"Published" is the catalog committed at `--base` (default `$GONGHUI_DOCS_BASE`, else `HEAD`):
before you commit, HEAD is what was published; in CI for a merge request pass the target
branch (`--base origin/main`), since the branch head already contains the new files.
`--base disk` compares with the files in the working tree instead.
"""

from __future__ import annotations

import argparse
import os
import sys

from deploy.docs import (
    REPO_ROOT,
    BaselineError,
    check,
    generate,
    published_schemas,
    read_checked_in,
    write,
)
from deploy.docs.compat import catalog_problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.docs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="verify only; exit 1 on differences")
    parser.add_argument(
        "--base",
        default=os.environ.get("GONGHUI_DOCS_BASE"),
        help="git revision holding the published event schemas, or 'disk' (default: HEAD)",
    )
    args = parser.parse_args(argv)

    catalog = generate(REPO_ROOT)
    base = args.base or "HEAD"
    try:
        published = published_schemas(base, REPO_ROOT)
    except BaselineError as exc:
        if args.base:  # asked for explicitly: a typo must not weaken the check
            print(f"error: {exc}", file=sys.stderr)
            return 2
        # No git, or no commit yet: the files on disk are all there is to compare with.
        print(f"warning: {exc}; comparing with the files on disk instead", file=sys.stderr)
        base = "disk"
        published = published_schemas(base, REPO_ROOT)
    against = "the files on disk" if base == "disk" else f"the catalog committed at {base}"

    if args.check:
        result = check(catalog, read_checked_in(REPO_ROOT), published)
        if result.stale:
            print("The checked-in API docs are not what the code generates:", file=sys.stderr)
            for line in result.stale:
                print(f"  {line}", file=sys.stderr)
            print("Run `make docs` and commit the files under docs/.", file=sys.stderr)
        report_breaking(result.breaking, against)
        if result.ok:
            print(f"docs: {len(catalog.files)} files up to date; events compatible with {against}")
        return 0 if result.ok else 1

    breaking = catalog_problems(published, catalog.schemas)
    if breaking:
        report_breaking(breaking, against)
        print("Nothing was written.", file=sys.stderr)
        return 1
    changes = write(catalog, REPO_ROOT)
    for line in changes:
        print(line)
    print(f"docs: {len(catalog.files)} files, {len(changes)} changed")
    return 0


def report_breaking(problems: list[str], against: str) -> None:
    if not problems:
        return
    print(f"Breaking changes to published events (compared with {against}):", file=sys.stderr)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    print(
        "Published events are read by subscribers you do not deploy. Leave the published "
        "type as it is and add the changed model as a new version (…v2) next to it.",
        file=sys.stderr,
    )


if __name__ == "__main__":
    raise SystemExit(main())
