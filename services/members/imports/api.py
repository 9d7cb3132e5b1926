"""Import routes: upload a member list as a job, then follow it until its report is ready."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, Field

from services.members.deps import Audit, Cadre
from services.members.imports.domain import MAX_ROWS, Counts, Outcome, Problem, RowResult
from services.members.imports.handlers import (
    NOT_FOUND,
    ImportOptions,
    JobState,
    job_state,
    select,
    start_import,
    visible,
)
from services.members.imports.runner import ImportWork
from shared.auth import Principal
from shared.errors import NotFound
from shared.problems import PROBLEM_RESPONSES, ProblemError
from shared.runtime import provided
from shared.spreadsheet import Oversized
from shared.timeutil import as_local

Imports = Annotated[ImportWork, Depends(provided("imports"))]

router = APIRouter(responses=PROBLEM_RESPONSES, tags=["批量导入 imports"])

MAX_BYTES = 10 * 1024 * 1024  # 20,000 rows of a member list are about 3 MB as XLSX
JOB_ID = r"^imp-[0-9a-f]{16}$"


class Progress(BaseModel):
    phase: Literal["check", "write"] | None = Field(
        description="当前步骤：check 检查、write 写入；完成后为空"
    )
    done: int = Field(description="已处理的行数（全部检查后再写入的任务，每行计两次）")
    total: int = Field(description="要处理的总行数")


class ImportJob(BaseModel):
    """An import job: its options, its progress and, when done, its report."""

    id: str
    state: Literal["queued", "running", "done"] = Field(
        description="queued 排队中、running 进行中、done 已完成"
    )
    commit: bool = Field(description="是否写入（否则只检查）")
    only_valid: bool = Field(description="只导入正确的行（否则有一行有误就全部不导入）")
    active: bool = Field(description="新会员直接入会（否则登记为入会申请）")
    by: str = Field(description="上传人")
    file_name: str | None
    file_format: Literal["csv", "xlsx"] | None = Field(description="识别出的文件格式")
    created_at: datetime = Field(description="北京时间 Asia/Shanghai")
    progress: Progress
    written: bool | None = Field(description="完成后：是否写入了数据")
    summary: str | None = Field(description="完成后：一句话结果")
    counts: Counts | None = Field(description="完成后：各种结果的行数")
    file_problems: list[Problem] = Field(description="整个文件或表头的问题")
    rows: list[RowResult] = Field(description="完成后：逐行结果（按筛选条件分页）")
    rows_matching: int = Field(description="符合筛选条件的行数")

    @classmethod
    def of(cls, found: JobState, rows: list[RowResult], matching: int) -> ImportJob:
        job, end = found.job, found.end
        return cls(
            id=job["_id"],
            state=found.state,
            commit=job["commit"],
            only_valid=job["only_valid"],
            active=job["active"],
            by=job["by"],
            file_name=job["file"]["name"],
            file_format=job["file"]["format"],
            created_at=as_local(job["created_at"]),
            progress=Progress(
                phase=found.phase,
                done=found.done_rows,
                total=found.total_rows,
            ),
            written=end["written"] if end else None,
            summary=end["summary"] if end else None,
            counts=found.counts,
            file_problems=found.file_problems,
            rows=rows,
            rows_matching=matching,
        )


UPLOAD_DOC = (
    "CSV（UTF-8 或 GBK，Excel 另存即可）或 Excel .xlsx，第一行为列名：工号、姓名、性别、出生日期、"
    "校区、部门、职务、用工形式、入职日期、手机、邮箱、企业微信、身份证号、教工小家、会费基数（元）"
)


@router.post(
    "/imports",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {"description": "已接收：任务已创建，用 GET /imports/{id} 查看进度和结果"},
        413: {
            "description": f"文件超过 {MAX_BYTES // 1024 // 1024} MB，或表格行数、解压后大小超限"
        },
    },
)
async def upload(
    file: Annotated[UploadFile, File(description=UPLOAD_DOC)],
    imports: Imports,
    audit: Audit,
    user: Cadre,
    response: Response,
    commit: Annotated[
        bool, Query(description="写入数据；默认只检查（试导入），什么也不写")
    ] = False,
    only_valid: Annotated[
        bool, Query(description="只导入正确的行；默认有一行有误就全部不导入")
    ] = False,
    active: Annotated[
        bool, Query(description="新会员直接入会（在会）；默认登记为入会申请，待审批")
    ] = False,
) -> ImportJob:
    """Upload a member list (新教师入会) as an import job: a check (dry run) or a commit; a
    file that cannot be read is answered 202 too, as a job whose report says why; role:
    cadre (rows of their campuses; admin: all)."""
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ProblemError(
            "import.too_large", 413, f"文件超过 {MAX_BYTES // 1024 // 1024} MB，请拆分后上传"
        )
    options = ImportOptions(commit=commit, only_valid=only_valid, active=active)
    try:
        job = await start_import(
            data, file.filename, options, user, imports.store, audit, imports.chunk_rows
        )
    except Oversized as exc:  # a row or zip bomb: refused at once, no job is kept
        raise ProblemError(f"import.{exc.code}", 413, exc.message) from exc
    imports.runner.kick(job["_id"])
    response.headers["Location"] = f"/imports/{job['_id']}"
    return ImportJob.of(await job_state(job, imports.store), [], 0)


@router.get("/imports/{import_id}")
async def get_import(
    import_id: Annotated[str, Path(pattern=JOB_ID, description="导入任务 id")],
    imports: Imports,
    user: Cadre,
    outcome: Annotated[Outcome | None, Query(description="只看这种结果的行")] = None,
    problems_only: Annotated[bool, Query(description="只看有问题（错误或提醒）的行")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_ROWS)] = 1000,
    offset: Annotated[int, Query(ge=0, le=MAX_ROWS)] = 0,
) -> ImportJob:
    """An import job's state and progress and, when done, its per-row report; role: cadre
    (the uploader, or of the same campuses)."""
    job = await _visible_job(import_id, imports, user)
    found = await job_state(job, imports.store)
    rows: list[RowResult] = []
    matching = 0
    if found.end is not None and found.end.get("phase"):
        every = await imports.store.results(job["_id"], found.end["phase"], job["chunks"])
        chosen = select(every, outcome, problems_only)
        rows, matching = chosen[offset : offset + limit], len(chosen)
    return ImportJob.of(found, rows, matching)


async def _visible_job(import_id: str, imports: Imports, user: Principal) -> dict:
    job = await imports.store.job(import_id)
    if job is None:
        raise NotFound(*NOT_FOUND, id=import_id)
    visible(job, user)
    return job
