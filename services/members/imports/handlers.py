"""Import use cases: upload a list as a job, check or write a chunk of it, report on it.

A job is worked chunk by chunk (`runner.ImportRunner`); a chunk is checked (what would
happen) or written (members created through `MemberRegistry.enrol`, updated through
`AggregateStore.change` — each an audited, versioned change with its events, by the uploader,
from the upload's request). Writing a chunk twice (after a crash, on two replicas) changes
nothing the second time: the member ids are derived from the staff numbers, and a row that
already says what the member is is left alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.members.imports.columns import ColumnAt, column_named
from services.members.imports.domain import (
    ALL,
    COLUMNS,
    CheckedRow,
    Context,
    Counts,
    Level,
    Outcome,
    Problem,
    RowResult,
    SourceRow,
    changed_columns,
    import_change,
    note_status,
    parse_upload,
    preview_existing,
    refuse_result,
)
from services.members.imports.store import CHECK, WRITE, ImportStore
from services.members.membership.domain import Member
from services.members.membership.handlers import ask_confirmation
from services.members.membership.store import MemberRegistry, duplicate
from services.members.membership.wecom_ids import Reserved, taken, wecom_key
from services.members.org.store import Organisation
from shared.aggregate import Actor
from shared.audit import AuditLog
from shared.errors import DomainError, NotFound
from shared.principal import Principal, Role
from shared.spreadsheet import off_the_loop
from shared.telemetry import trace_id_var
from shared.timeutil import local_today, utcnow

CHUNK_ROWS = 500  # rows per unit of work: the progress step, and what a crash may repeat
WRITE_CONCURRENCY = 16  # members of one chunk written at once
NOT_FOUND = ("import.not_found", "未找到该导入任务")


@dataclass(frozen=True)
class ImportOptions:
    commit: bool = False  # write (after the check); else only say what would happen
    only_valid: bool = False  # write the rows that pass even when others are refused
    active: bool = False  # new people join as active members, not as applicants


def phases(job: dict[str, Any]) -> list[str]:
    """The passes a job makes over its rows. All-or-nothing checks every row before it
    writes any; only-valid checks each row as it writes it."""
    if not job["rows"] or not job["file_ok"]:
        return []
    if not job["commit"]:
        return [CHECK]
    return [WRITE] if job["only_valid"] else [CHECK, WRITE]


# -- upload -----------------------------------------------------------------------------------


async def start_import(
    data: bytes,
    filename: str | None,
    options: ImportOptions,
    user: Principal,
    store: ImportStore,
    audit: AuditLog,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, Any]:
    """Keep the uploaded rows with a new job and have it worked; returns the job."""
    scope = sorted(user.campuses)
    default_campus = scope[0] if len(scope) == 1 and ALL not in scope else None
    upload = await off_the_loop(parse_upload, data, default_campus is not None)
    rows = upload.rows
    chunks = [rows[i : i + chunk_rows] for i in range(0, len(rows), chunk_rows)]
    job_id = f"imp-{uuid.uuid4().hex[:16]}"
    job: dict[str, Any] = {
        "_id": job_id,
        "by": user.subject,
        "scope": scope,
        "roles": sorted(user.roles),  # what the uploader may change (`Context.uploader`)
        "default_campus": default_campus,
        "commit": options.commit,
        "only_valid": options.only_valid,
        "active": options.active,
        "file": {
            "name": (filename or "")[:200] or None,
            "format": upload.format,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        },
        "header_row": upload.header.row if upload.header else None,
        "columns": {f: [at.index, at.written] for f, at in upload.columns.items()},
        "problems": [p.model_dump(mode="json") for p in upload.problems],
        "file_ok": not any(p.level is Level.error for p in upload.problems),
        "rows": len(rows),
        "chunks": len(chunks),
        "chunk_rows": chunk_rows,
        "epoch_1904": upload.epoch_1904,
        "trace": trace_id_var.get() or uuid.uuid4().hex,
        "created_at": utcnow(),
    }
    await store.create(job, chunks)
    await audit.record(
        Actor.of(user),
        "import.commit" if options.commit else "import.check",
        job_id,
        ",".join(scope),
        rows=len(rows),
        file=job["file"]["name"],
        sha256=job["file"]["sha256"],
        only_valid=options.only_valid,
        active=options.active,
    )
    return job


def visible(job: dict[str, Any], user: Principal) -> None:
    """The uploader sees their job; so does anyone whose campuses cover the uploader's."""
    scope = set(job["scope"])
    if job["by"] == user.subject or user.all_campuses:
        return
    if ALL not in scope and scope <= user.campuses and user.has_role(Role.cadre):
        return
    raise NotFound(*NOT_FOUND, id=job["_id"])


# -- working a chunk --------------------------------------------------------------------------


async def context_of(
    job: dict[str, Any],
    org: Organisation,
    rows: Sequence[SourceRow] = (),
    school_campus: str = "main",
) -> Context:
    """What checking the job's rows needs: the organisation as it is now, the job's options."""
    campuses = {c.id: c for c in await org.campuses()}
    names = {c.name for c in campuses.values()}
    # The list view may be a moment behind a campus just defined: read by id what it lacks.
    wanted = {str(r.values["campus"]).strip() for r in rows if "campus" in r.values}
    wanted |= {job["default_campus"]} if job["default_campus"] else set()
    for code in sorted(wanted - set(campuses) - names):
        found = await org.store.get(code)
        if found is not None:
            campuses[code] = found
    columns = {}
    for name, (index, written) in job["columns"].items():
        column = column_named(written)
        if column is not None:
            columns[name] = ColumnAt(column, index, written)
    return Context(
        campuses=campuses,
        scope=frozenset(job["scope"]),
        active=job["active"],
        today=local_today(),
        columns=columns,
        default_campus=job["default_campus"],
        epoch_1904=job["epoch_1904"],
        # A job from before roles were kept holds none: it changes no one's e-mail then.
        uploader=Principal(job["by"], frozenset(job.get("roles", ())), frozenset(job["scope"])),
        school_campus=school_campus,
    )


async def existing_members(
    checked: Sequence[CheckedRow], members: MemberRegistry
) -> dict[str, Member]:
    """The rows' staff numbers that are members already, as they are now: which have a
    first change at all (one query), then the current state of those (two more, when any).
    A lookup per row would cost a round trip each, and on FerretDB/SQLite a table scan each."""
    known = await members.store.existing([c.member_id for c in checked if c.member_id])
    return await members.store.get_many(sorted(known)) if known else {}


async def check_chunk(
    checked: Sequence[CheckedRow], ctx: Context, members: MemberRegistry
) -> list[RowResult]:
    """What importing the rows would do now (a dry run: nothing is written)."""
    existing = await existing_members(checked, members)
    results = [
        preview_existing(existing[c.member_id], c, ctx) if c.member_id in existing else c.result
        for c in checked
    ]
    return await _refuse_held_wecom_ids(checked, results, ctx, members)


async def _refuse_held_wecom_ids(
    checked: Sequence[CheckedRow],
    results: list[RowResult],
    ctx: Context,
    members: MemberRegistry,
) -> list[RowResult]:
    """A row giving a WeCom id another member holds, or one an earlier row of the chunk
    gives, is refused in the dry run as the write would refuse it."""
    given = [
        c.new_member.wecom_userid if c.new_member and "wecom_userid" in c.given else None
        for c in checked
    ]
    held = await members.wecom_ids.holders([u for u in given if u])
    refused: set[int] = set()
    for c, r, userid in zip(checked, results, given, strict=True):
        key = wecom_key(userid)
        if key is None or r.outcome is Outcome.refused or c.member_id is None:
            continue
        if held.setdefault(key, c.member_id) != c.member_id:
            refused.add(c.source.row)  # another member's, or an earlier row's
    return [
        refuse_result(r.model_copy(deep=True), taken(), ctx) if c.source.row in refused else r
        for c, r in zip(checked, results, strict=True)
    ]


@dataclass
class _Written:
    result: RowResult
    member: Member | None = None  # after the row, when it exists
    wrote: bool = False  # this attempt wrote the change


async def write_chunk(
    checked: Sequence[CheckedRow],
    ctx: Context,
    members: MemberRegistry,
    actor: Actor,
    concurrency: int = WRITE_CONCURRENCY,
) -> list[RowResult]:
    """Write the rows that pass; each row's result says what happened to it.

    Every row that passes is first enrolled, all together (`enrol_many`: one insert of their
    outbox markers, one of their change records, each under its member's own key): for a
    list of new staff that is all there is to it, no lookup at all. A staff number that is a
    member already is refused by its key; those are then read in one batch and changed one
    by one through `AggregateStore.change` when the row says something new.
    """
    done, new, reserved = await _reserve_wecom_ids(checked, ctx, members)
    enrolled = await members.enrol_many(
        [c.new_member for c in new if c.new_member], actor, "import"
    )
    done |= {
        c.source.row: _Written(c.result.model_copy(deep=True), c.new_member, wrote=True)
        for c, ok in zip(new, enrolled, strict=True)
        if ok
    }
    known = [c for c, ok in zip(new, enrolled, strict=True) if not ok]
    for c in known:  # a member already: its row is written below, reserving for itself
        if c.new_member and c.new_member.wecom_userid and c.source.row in reserved:
            await members.wecom_ids.release(c.new_member.wecom_userid, c.new_member.id)
    existing = await members.store.get_many([c.member_id for c in known if c.member_id])
    gate = asyncio.Semaphore(concurrency)

    async def one(row: CheckedRow) -> _Written:
        if row.source.row in done:
            return done[row.source.row]
        if row.member_id is None:
            return _Written(row.result)
        async with gate:
            return await _write_row(row, existing.get(row.member_id), ctx, members, actor)

    written = await asyncio.gather(*(one(c) for c in checked))
    await _mine(written, members, actor)
    for w in written:
        if w.member is not None and w.result.outcome in (Outcome.update, Outcome.unchanged):
            note_status(w.result, w.member, ctx)
    return [w.result for w in written]


async def _reserve_wecom_ids(
    checked: Sequence[CheckedRow], ctx: Context, members: MemberRegistry
) -> tuple[dict[int, _Written], list[CheckedRow], set[int]]:
    """The WeCom ids of the rows to enrol, reserved before anything is written: a row whose
    id another member holds is refused (`done`); the others are to enrol (`new`); `reserved`
    are the rows whose id this call reserved."""
    done: dict[int, _Written] = {}
    new: list[CheckedRow] = []
    reserved: set[int] = set()
    for c in checked:
        if c.new_member is None:
            continue
        if c.new_member.wecom_userid:
            got = await members.wecom_ids.reserve(c.new_member.wecom_userid, c.new_member.id)
            if got is None:
                done[c.source.row] = _Written(
                    refuse_result(c.result.model_copy(deep=True), taken(), ctx)
                )
                continue
            if got is Reserved.new:
                reserved.add(c.source.row)
        new.append(c)
    return done, new, reserved


async def _write_row(
    row: CheckedRow,
    member: Member | None,
    ctx: Context,
    members: MemberRegistry,
    actor: Actor,
) -> _Written:
    """A row whose staff number is a member: unchanged, or changed through the rules."""
    assert row.new_member is not None and row.member_id is not None
    result = row.result.model_copy(deep=True)
    if member is None:
        # Enrolled since the lookup (another cadre, another replica, this job before a
        # crash), or a member from before ids came from staff numbers.
        member = await members.store.get(row.member_id)
        if member is None:
            return _Written(refuse_result(result, duplicate(row.new_member.staff_no), ctx))
    # Decided on the state just read in one batch: a row that changes nothing costs no
    # further read (one per row would be a table scan each on FerretDB/SQLite).
    preview = preview_existing(member, row, ctx)
    if preview.outcome is Outcome.refused:
        return _Written(preview)
    if preview.outcome is Outcome.unchanged:
        result.outcome = Outcome.unchanged
        return _Written(result, member)
    decide = import_change(row, ctx)
    seen: dict[str, Any] = {}
    now = utcnow()

    def tracked(current: Member) -> None:
        seen["before"] = current.model_copy(deep=True)
        decide(current)
        ask_confirmation(current, members, now)  # a new e-mail waits for the member
        seen["wrote"] = bool(current.events)

    try:
        # A new WeCom id is reserved before the change, the former one released after it.
        wecom = row.new_member.wecom_userid if "wecom_userid" in row.given else None
        async with members.wecom_ids.holding(row.member_id, wecom):
            after = await members.store.change(row.member_id, tracked, actor, "import")
    except DomainError as exc:
        return _Written(refuse_result(result, exc, ctx))
    await members.wecom_ids.settle(after)
    if seen.get("wrote"):
        result.outcome = Outcome.update
        result.changed = changed_columns(seen["before"], after, row.given)
    else:
        result.outcome = Outcome.unchanged
    return _Written(result, after, wrote=bool(seen.get("wrote")))


async def _mine(written: Sequence[_Written], members: MemberRegistry, actor: Actor) -> None:
    """Rows found as they should be because *this job* wrote them before (a crash, another
    replica on the same chunk) say what this job did, not "unchanged": the change log knows
    which request made each change."""
    found = {
        w.member.id: w
        for w in written
        if w.member is not None and w.result.outcome is Outcome.unchanged
    }
    versions = {i: w.member.version for i, w in found.items() if w.member is not None}
    for change in await members.store.changes_of_request(actor.request, versions, "import"):
        w = found[change.aggregate_id]
        if change.version == 1:
            w.result.outcome = Outcome.create
        else:
            w.result.outcome = Outcome.update
            w.result.changed = [c.header for c in COLUMNS if c.field in change.changed]


# -- the state of a job -----------------------------------------------------------------------


@dataclass
class JobState:
    job: dict[str, Any]
    state: str  # queued / running / done
    phase: str | None
    done_rows: int
    total_rows: int
    end: dict[str, Any] | None

    @property
    def counts(self) -> Counts | None:
        return Counts.model_validate(self.end["counts"]) if self.end else None

    @property
    def file_problems(self) -> list[Problem]:
        return [Problem.model_validate(p) for p in self.job["problems"]]


async def job_state(job: dict[str, Any], store: ImportStore) -> JobState:
    steps = await store.steps_of(job["_id"])
    plan = phases(job)
    total = job["rows"] * len(plan)
    end = next((s for s in steps if s["_id"].endswith(":done")), None)
    if end is not None:
        return JobState(job, "done", None, total, total, end)
    results = [s for s in steps if "count" in s]
    done = sum(s["count"] for s in results)
    current = None
    for phase in plan:
        if sum(s["count"] for s in results if s["phase"] == phase) < job["rows"]:
            current = phase
            break
    started = bool(results) or any("@" in s["_id"] for s in steps)
    return JobState(job, "running" if started else "queued", current, done, total, None)


def select(
    rows: Sequence[RowResult], outcome: Outcome | None, problems_only: bool
) -> list[RowResult]:
    return [
        r
        for r in rows
        if (outcome is None or r.outcome is outcome) and (not problems_only or r.problems)
    ]
