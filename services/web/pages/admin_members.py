"""The cadre desk under /admin, members' side: the desk's front page, members (search and
filters, a member's page with lifecycle actions and audit trail, CSV export) and the import
(新教师入会: the dry-run report row by row, then the commit). Desktop tables, paged on the
server; what a cadre may see is what members answers for their token (their campuses,
personal data masked)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import Response

from services.web.backend import ApiError
from services.web.context import StaffVisit, Visit, redirect
from services.web.pages.todo import waiting_for
from services.web.uploads import Upload
from shared.vocabulary.members import (
    MEMBER_FIELDS,
    Gender,
    ImportOutcome,
    MemberChange,
    MemberStatus,
    UnionRole,
)

router = APIRouter(prefix="/admin")

PAGE = 50
MemberId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
ImportId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")]
Text = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]
# The choices of the filters: the published labels (shared.vocabulary), never our own words.
GENDER = Gender.labels()
ROLES = UnionRole.labels()
MEMBER_STATUS = MemberStatus.labels()
ACTIONS = {a: MemberChange(a).label for a in ("approve", "withdraw", "retire", "transfer")}


@router.get("")
async def desk_home(visit: StaffVisit) -> Response:
    """工会干部工作台 with 待办 (what waits for this cadre); role: cadre, finance, auditor or
    admin."""
    todos, _ = await asyncio.gather(waiting_for(visit), visit.org())
    return visit.render("admin/home.html", todos=todos, section="home")


# -- members ----------------------------------------------------------------------------------


@dataclass
class MemberListFilter:
    """The member list's filters as the page's form sends them (the export keeps them)."""

    q: Text = None
    campus: Text = None
    department: Text = None
    status: Text = None
    gender: Text = None
    role: Text = None
    age_min: Annotated[int | None, Query(ge=0, le=120)] = None
    age_max: Annotated[int | None, Query(ge=0, le=120)] = None

    def params(self) -> dict[str, Any]:
        """The filters that are set; a status, gender or role must be a known code."""
        filters: dict[str, Any] = {
            "q": self.q,
            "campus": self.campus,
            "department": self.department,
            "status": self.status if self.status in MEMBER_STATUS else None,
            "gender": self.gender if self.gender in GENDER else None,
            "role": self.role if self.role in ROLES else None,
            "age_min": self.age_min,
            "age_max": self.age_max,
        }
        return {k: v for k, v in filters.items() if v not in (None, "")}


Filters = Annotated[MemberListFilter, Depends()]


@router.get("/members")
async def members(
    visit: StaffVisit,
    filter_: Filters,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """会员查询 with filters, 50 a page; role: cadre."""
    filters = filter_.params()
    page, org = await asyncio.gather(
        visit.get("members", "/members", params={**filters, "limit": PAGE, "offset": offset}),
        visit.org(),
    )
    query = urlencode(filters)
    return visit.render(
        "admin/members.html",
        page=page,
        filters=filters,
        query=query,
        campuses=org.choices,
        statuses=MEMBER_STATUS,
        genders=GENDER,
        roles=ROLES,
        prev=offset - PAGE if offset > 0 else None,
        next=offset + PAGE if offset + PAGE < page["total"] else None,
        section="members",
    )


@router.get("/members/export.csv")
async def export_members(visit: StaffVisit, filter_: Filters) -> Response:
    """The filtered list as CSV (members masks and audits it); role: cadre."""
    params = filter_.params()
    found = await visit.get("members", "/exports/members.csv", params=params, raw=True)
    return Response(
        found.content,
        media_type=found.headers.get("content-type", "text/csv"),
        headers={
            "Content-Disposition": found.headers.get(
                "content-disposition", 'attachment; filename="members.csv"'
            ),
            "Cache-Control": "no-store",
        },
    )


@router.get("/members/{member_id}")
async def member_page(visit: StaffVisit, member_id: MemberId, msg: str | None = None) -> Response:
    """A member's record, lifecycle actions and audit trail (auditor, admin); role: cadre."""
    return await member_view(visit, member_id, flash=ACTIONS.get(msg or ""))


async def member_view(
    visit: Visit, member_id: str, *, flash: str | None = None, error: str | None = None
) -> Response:
    me, history, org = await asyncio.gather(
        visit.get("members", f"/members/{member_id}"),
        trail(visit, member_id),
        visit.org(),
    )
    return visit.render(
        "admin/member.html",
        status_code=409 if error else 200,
        m=me,
        status=MemberStatus.label_of(me["status"]),
        history=history,
        campuses=org.choices,
        genders=GENDER,
        roles=ROLES,
        flash=f"已{flash}" if flash else None,
        error=error,
        section="members",
    )


async def trail(visit: Visit, member_id: str) -> list[dict[str, Any]] | None:
    """The member's change history; None when the caller may not read it (a cadre)."""
    try:
        changes = await visit.get("members", f"/members/{member_id}/history")
    except ApiError as exc:
        if exc.status == 403:
            return None
        raise
    return [
        {
            **c,
            "action": MemberChange.label_of(c["action"]),
            "by": "系统" if c["by"] == "system" else c["by"],
            "fields": [MEMBER_FIELDS.get(k, k) for k in c["changed"] if k in MEMBER_FIELDS],
        }
        for c in changes
    ]


@router.post("/members/{member_id}/{action}")
async def lifecycle(
    visit: StaffVisit,
    member_id: MemberId,
    action: Annotated[str, Path(pattern=r"^(approve|withdraw|retire|transfer)$")],
    to_campus: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """批准入会 / 退会 / 退休 / 转校区; role: cadre of the member's campus."""
    body: dict[str, Any] | None = {"to_campus": to_campus} if action == "transfer" else None
    try:
        await visit.post("members", f"/members/{member_id}/{action}", json=body)
    except ApiError as exc:
        if exc.status not in (409, 422):
            raise
        return await member_view(visit, member_id, error=exc.message)
    return redirect(f"/admin/members/{member_id}?msg={action}")


# -- import -----------------------------------------------------------------------------------


@router.get("/imports")
async def import_page(visit: StaffVisit) -> Response:
    """新教师入会: upload a CSV or XLSX for a check first; role: cadre."""
    return visit.render("admin/import.html", error=None, section="import")


@router.post("/imports")
async def upload(visit: StaffVisit, file: Annotated[UploadFile, File()]) -> Response:
    """Check a member list (dry run: nothing is written); role: cadre."""
    uploads = visit.web.uploads
    content = await file.read(uploads.max_bytes + 1)
    name = file.filename or "members.csv"
    if not content:
        return visit.render("admin/import.html", error="请选择要导入的文件", section="import")
    if len(content) > uploads.max_bytes:
        too_large = f"文件超过 {uploads.max_bytes // 1024 // 1024} MB，请拆分后上传"
        return visit.render("admin/import.html", 413, error=too_large, section="import")
    job = await visit.post(
        "members",
        "/imports",
        params={"commit": "false", "only_valid": "false", "active": "false"},
        files={"file": (name, content, file.content_type or "application/octet-stream")},
    )
    # Kept (sealed) for the commit that follows the check: the cadre need not choose it again.
    await uploads.keep_for_commit(
        job["id"], visit.member_id, Upload(name, file.content_type, content)
    )
    return redirect(f"/admin/imports/{job['id']}")


async def import_job(visit: Visit, import_id: str) -> dict[str, Any]:
    return await visit.get("members", f"/imports/{import_id}", params={"limit": 500})


@router.get("/imports/{import_id}")
async def import_report(visit: StaffVisit, import_id: ImportId) -> Response:
    """The check's (or the commit's) report, row by row; role: cadre."""
    job = await import_job(visit, import_id)
    kept = await visit.web.uploads.waiting(import_id, visit.member_id)
    template = "admin/import_report.html"
    if visit.request.headers.get("hx-request"):
        template = "admin/_import_job.html"
    return visit.render(
        template, job=job, outcome=ImportOutcome.labels(), may_commit=bool(kept), section="import"
    )


@router.post("/imports/{import_id}/commit")
async def commit(
    visit: StaffVisit,
    import_id: ImportId,
    only_valid: Annotated[bool, Form()] = False,
    active: Annotated[bool, Form()] = False,
) -> Response:
    """Write the checked file (all or nothing, or only the good rows); role: cadre."""
    kept = await visit.web.uploads.get(import_id, visit.member_id)
    if kept is None:
        return redirect("/admin/imports")
    job = await visit.post(
        "members",
        "/imports",
        params={
            "commit": "true",
            "only_valid": str(only_valid).lower(),
            "active": str(active).lower(),
        },
        files={"file": (kept.name, kept.content, kept.type or "text/csv")},
    )
    await visit.web.uploads.drop(import_id)
    return redirect(f"/admin/imports/{job['id']}")
