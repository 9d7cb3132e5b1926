"""`gonghui import members FILE`: upload a member list, follow the job, print the report.

    gonghui import members 新教师.xlsx                  # a dry run: what would happen
    gonghui import members 新教师.xlsx --commit         # all or nothing
    gonghui import members 新教师.xlsx --commit --only-valid --active

Talks to the members service over HTTP (`--url`, default http://127.0.0.1:8001) with a bearer
token (`--token`, `$GONGHUI_TOKEN`, else an admin token minted with the development key, as
`gonghui token` does). Exit code 0 when every row passed, 1 when rows were refused (or
nothing was written), 2 when the service could not be asked.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

from shared.vocabulary.members import ImportOutcome, ProblemLevel

DEFAULT_URL = "http://127.0.0.1:8001"
PHASE_ZH = {"check": "检查", "write": "写入", None: "完成"}


def add_parser(sub: Any) -> None:
    """`import members …` under the `gonghui` command (deploy/cli.py)."""
    parser = sub.add_parser("import", help="bulk import (批量导入)")
    kinds = parser.add_subparsers(dest="kind", required=True)
    members = kinds.add_parser(
        "members", help="import a member list (新教师入会): CSV or XLSX, Chinese header"
    )
    members.add_argument("file", type=Path, help="the CSV or XLSX file")
    members.add_argument("--commit", action="store_true", help="write; default: a dry run")
    members.add_argument(
        "--only-valid",
        action="store_true",
        help="write the rows that pass even when others are refused (default: all or nothing)",
    )
    members.add_argument(
        "--active", action="store_true", help="new people join as active members, not applicants"
    )
    members.add_argument("--url", default=os.environ.get("GONGHUI_MEMBERS_URL", DEFAULT_URL))
    members.add_argument("--token", default=os.environ.get("GONGHUI_TOKEN"))
    members.add_argument(
        "--all-rows", action="store_true", help="print every row, not only those to look at"
    )
    members.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"找不到文件 / no such file: {args.file}", file=sys.stderr)
        return 2
    token = args.token or _dev_admin_token()

    async def main() -> int:
        async with httpx.AsyncClient(
            base_url=args.url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        ) as client:
            return await import_members(
                client,
                args.file.name,
                args.file.read_bytes(),
                commit=args.commit,
                only_valid=args.only_valid,
                active=args.active,
                all_rows=args.all_rows,
            )

    try:
        return asyncio.run(main())
    except httpx.HTTPError as exc:
        print(f"无法连接会员服务 / cannot reach {args.url}: {exc}", file=sys.stderr)
        return 2


def _dev_admin_token() -> str:
    from shared.auth import mint_token
    from shared.keys import signing_key_for_cli

    return mint_token("gonghui-cli", ["admin"], ["*"], private_key_file=signing_key_for_cli())


async def import_members(
    client: httpx.AsyncClient,
    name: str,
    data: bytes,
    *,
    commit: bool = False,
    only_valid: bool = False,
    active: bool = False,
    all_rows: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    poll_s: float = 0.5,
) -> int:
    """Upload, follow the job with a progress bar, print the report; the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    params = {"commit": commit, "only_valid": only_valid, "active": active}
    response = await client.post(
        "/imports",
        files={"file": (name, data)},
        params={k: str(v).lower() for k, v in params.items()},
    )
    if response.status_code != 202:
        print(_problem(response), file=err)
        return 2
    job = response.json()
    bar = Progress(err)
    while job["state"] != "done":
        bar.show(job["progress"])
        await asyncio.sleep(poll_s)
        response = await client.get(f"/imports/{job['id']}", params={"limit": 1})
        if response.status_code != 200:
            print(_problem(response), file=err)
            return 2
        job = response.json()
    bar.done(job["progress"])
    response = await client.get(f"/imports/{job['id']}", params={"limit": 20000})
    job = response.json()
    print(format_report(job, all_rows), file=out)
    refused = (job["counts"] or {}).get("refused", 0)
    file_ok = not any(p["level"] == "error" for p in job["file_problems"])
    return 0 if file_ok and not refused else 1


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
        text = body.get("title", "") + (f"：{body['detail']}" if body.get("detail") else "")
    except ValueError:
        text = response.text[:300]
    return f"{response.status_code} {text}"


class Progress:
    """A bar on a terminal; on a pipe, a line each tenth of the way."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.said = -1

    def show(self, progress: dict[str, Any]) -> None:
        done, total = progress["done"], max(progress["total"], 1)
        phase = PHASE_ZH.get(progress.get("phase"), "")
        if self.tty:
            filled = round(self.WIDTH * done / total)
            bar = "█" * filled + "░" * (self.WIDTH - filled)
            self.stream.write(f"\r{phase} {bar} {done}/{total} 行 ")
            self.stream.flush()
        elif (tenth := 10 * done // total) != self.said:
            self.said = tenth
            print(f"{phase} {done}/{total} 行", file=self.stream)

    def done(self, progress: dict[str, Any]) -> None:
        self.show(progress)
        if self.tty:
            self.stream.write("\n")


# -- the report -------------------------------------------------------------------------------


def width(text: str) -> int:
    """Columns a terminal gives the text: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    return text + " " * max(columns - width(text), 0)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned columns (the last one is left as it is)."""
    widths = [max(width(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
    return [
        "  ".join([*(pad(c, w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip()
        for r in [header, *rows]
    ]


def format_report(job: dict[str, Any], all_rows: bool = False) -> str:
    """The report as a cadre reads it: the verdict, the counts, the file's problems, then a
    line per problem of each row worth a look (every row with `all_rows`)."""
    lines = [
        f"文件：{job.get('file_name') or '—'}（{job.get('file_format') or '无法识别'}）"
        f"  任务：{job['id']}",
        job.get("summary") or "",
    ]
    counts = job.get("counts") or {}
    if counts:
        order = ("create", "update", "unchanged", "duplicate", "refused")
        parts = [f"{ImportOutcome(key).label} {counts[key]}" for key in order]
        lines.append(
            "　".join(parts) + f"　（共 {counts['rows']} 行，{counts['warnings']} 行有提醒）"
        )
    if job["file_problems"]:
        lines += ["", "文件问题："]
        rows = [
            [p["cell"] or "", p["column"] or "", ProblemLevel.label_of(p["level"]), p["message"]]
            for p in job["file_problems"]
        ]
        lines += ["  " + line for line in table(["单元格", "列", "级别", "说明"], rows)]
    shown = [
        r
        for r in job["rows"]
        if all_rows or r["problems"] or r["outcome"] in ("update", "refused", "duplicate")
    ]
    if shown:
        lines.append("")
        body: list[list[str]] = []
        for r in shown:
            notes = [
                [p["cell"] or "", ProblemLevel.label_of(p["level"]), p["message"]]
                for p in r["problems"]
            ] or [["", "", "改变：" + "、".join(r["changed"]) if r["changed"] else ""]]
            for i, (cell, level, message) in enumerate(notes):
                first = i == 0
                body.append(
                    [
                        str(r["row"]) if first else "",
                        (r["staff_no"] or "") if first else "",
                        (r["name"] or "") if first else "",
                        ImportOutcome.label_of(r["outcome"]) if first else "",
                        cell,
                        level,
                        message,
                    ]
                )
        lines += table(["行", "工号", "姓名", "结果", "单元格", "级别", "说明"], body)
    return "\n".join(lines)
