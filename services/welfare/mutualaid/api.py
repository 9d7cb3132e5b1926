"""Mutual-aid routes (互助保障): schemes, enrolments, the insurer's list, claims."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, BeforeValidator, Field

from services.welfare.deps import CampusCode, MemberId, Year
from services.welfare.mutualaid.domain import (
    ClaimStatus,
    Day,
    SchemeSettings,
    Whole,
    whole,
)
from services.welfare.mutualaid.handlers import (
    MutualAid,
    claim_of,
    claims_of_scheme,
    enrol,
    enrolment_list,
    move_claim,
    my_claims,
    my_enrolment,
    save_scheme,
    scheme_of,
    shown_id_number,
    submit_claim,
)
from shared.auth import CurrentUser
from shared.export import xlsx_bytes
from shared.parsing import fen_to_yuan
from shared.problems import PROBLEM_RESPONSES
from shared.public import PublicModel
from shared.runtime import provided
from shared.text import VISIBLE_TEXT
from shared.vocabulary.members import Gender

AidDep = Annotated[MutualAid, Depends(provided("mutual_aid"))]

router = APIRouter(prefix="/mutual-aid", responses=PROBLEM_RESPONSES, tags=["互助保障 mutual aid"])

Code = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,23}$", description="险种代码")]
ClaimId = Annotated[str, Path(pattern=r"^clm-[0-9a-f]{12}$", description="理赔编号")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCHEME = "/schemes/{campus}/{year}/{code}"


class SchemePublic(PublicModel, SchemeSettings):
    id: str
    campus: str
    year: int
    code: str
    kind_label: str


class EnrolmentCreate(BaseModel):
    id_number: str = Field(
        pattern=r"^\s*[0-9０-９]{17}[0-9０-９XxＸｘ]\s*$",
        description="身份证号 18 位（承保机构要求；加密保存）",
    )
    member_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="干部代为参保时填写；本人不填"
    )


class EnrolmentPublic(BaseModel):
    id: str
    scheme_id: str
    member_id: str
    id_number: str | None = Field(description="身份证号：经费管理和主席可见全文，其他人脱敏")
    premium_fen: int
    premium_seq: int = Field(description="记入台账的记录序号")
    enrolled_on: date


class Enrolled(BaseModel):
    enrolment: EnrolmentPublic
    created: bool = Field(description="否：此前已参保（重复提交只记一次）")


class EnrolmentRow(EnrolmentPublic):
    name: str | None
    gender: Gender | None
    department: str | None


class ClaimCreate(BaseModel):
    claimed_fen: Whole = Field(ge=1, le=100_000_000, description="申请金额（分）")
    occurred_on: Day = Field(description="确诊或发生日期")
    member_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="干部代为申请时填写；本人不填"
    )


class ClaimMove(BaseModel):
    status: ClaimStatus = Field(
        description="with_insurer 送保险公司 / paid 已赔付 / refused 不予赔付"
    )
    paid_fen: Annotated[int, Field(ge=0, le=100_000_000), BeforeValidator(whole)] | None = Field(
        None, description="赔付金额（分）"
    )
    reason: str | None = Field(
        None, pattern=VISIBLE_TEXT, min_length=1, max_length=200, description="不予赔付的原因"
    )


class ClaimPublic(PublicModel):
    id: str
    scheme_id: str
    member_id: str
    status: ClaimStatus
    status_label: str
    claimed_fen: int
    paid_fen: int | None
    occurred_on: date
    reason: str | None


@router.put(SCHEME)
async def put_scheme(
    campus: CampusCode, year: Year, code: Code, body: SchemeSettings, aid: AidDep, user: CurrentUser
) -> SchemePublic:
    """Set up or revise a scheme (premium fixed once someone enrolled); role: cadre of the
    campus."""
    return SchemePublic.of(await save_scheme(aid, user, campus, year, code, body))


@router.get("/schemes/{campus}/{year}")
async def list_schemes(
    campus: CampusCode, year: Year, aid: AidDep, user: CurrentUser
) -> list[SchemePublic]:
    """The year's schemes of a campus; role: anyone of the campus."""
    user.require_campus(campus)
    return [SchemePublic.of(s) for s in await aid.book.schemes_of(campus, year)]


@router.post(
    f"{SCHEME}/enrolments",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "此前已参保：返回原参保记录", "model": Enrolled}},
)
async def post_enrolment(
    campus: CampusCode,
    year: Year,
    code: Code,
    body: EnrolmentCreate,
    aid: AidDep,
    user: CurrentUser,
    response: Response,
) -> Enrolled:
    """Enrol in a scheme, the premium posted once (422 `mutual_aid.women_only` for men in the
    women's scheme, `mutual_aid.retirees_excluded` for a retiree unless the scheme takes
    them); role: the member themself, or a cadre of the campus for a member."""
    scheme = await scheme_of(aid, user, campus, year, code)
    member_id = body.member_id or user.subject
    enrolment, created = await enrol(aid, user, scheme, member_id, body.id_number)
    if not created:
        response.status_code = status.HTTP_200_OK
    row = EnrolmentPublic(
        **enrolment.model_dump(include=set(EnrolmentPublic.model_fields)),
    )
    row.id_number = shown_id_number(user, enrolment)
    return Enrolled(enrolment=row, created=created)


@router.get(f"{SCHEME}/enrolments")
async def list_enrolments(
    campus: CampusCode, year: Year, code: Code, aid: AidDep, user: CurrentUser
) -> list[EnrolmentRow]:
    """The enrolled members (ID numbers in full for finance and the chair only); role: cadre,
    finance or auditor of the campus."""
    scheme = await scheme_of(aid, user, campus, year, code)
    return [
        EnrolmentRow(
            **e.model_dump(include=set(EnrolmentPublic.model_fields) - {"id_number"}),
            id_number=shown_id_number(user, e),
            name=p.get("name"),
            gender=p.get("gender"),
            department=p.get("department") or e.department,
        )
        for e, p in await enrolment_list(aid, user, scheme)
    ]


@router.get(
    f"{SCHEME}/enrolments.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "承保机构参保名单"}},
)
async def export_enrolments(
    campus: CampusCode, year: Year, code: Code, aid: AidDep, user: CurrentUser
) -> Response:
    """The enrolment list in the layout insurers ask for (姓名, 性别, 身份证号, 校区, 部门, 险种,
    保费); role: cadre, finance or auditor of the campus (ID numbers in full for finance and
    the chair)."""
    scheme = await scheme_of(aid, user, campus, year, code)
    rows = [
        (
            p.get("name"),
            Gender.label_of(p["gender"]) if p.get("gender") else None,
            shown_id_number(user, e),
            campus,
            p.get("department") or e.department,
            scheme.name,
            fen_to_yuan(e.premium_fen),
        )
        for e, p in await enrolment_list(aid, user, scheme)
    ]
    header = ("姓名", "性别", "身份证号", "校区", "部门", "险种", "保费（元）")
    data = xlsx_bytes(f"{year}{scheme.name}", header, rows)
    name = f"mutual-aid-{campus}-{year}-{code}.xlsx"
    return Response(
        data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(f"{SCHEME}/enrolments/{{member_id}}")
async def get_enrolment(
    campus: CampusCode, year: Year, code: Code, member_id: MemberId, aid: AidDep, user: CurrentUser
) -> EnrolmentPublic:
    """A member's enrolment; role: the member themself, or a cadre, finance or auditor of the
    campus."""
    scheme = await scheme_of(aid, user, campus, year, code)
    enrolment = await my_enrolment(aid, user, scheme, member_id)
    return EnrolmentPublic(
        **enrolment.model_dump(include=set(EnrolmentPublic.model_fields) - {"id_number"}),
        id_number=shown_id_number(user, enrolment),
    )


@router.post(f"{SCHEME}/claims", status_code=status.HTTP_201_CREATED)
async def post_claim(
    campus: CampusCode, year: Year, code: Code, body: ClaimCreate, aid: AidDep, user: CurrentUser
) -> ClaimPublic:
    """Submit a claim for an enrolled member; role: the member themself, or a cadre of the
    campus."""
    scheme = await scheme_of(aid, user, campus, year, code)
    member_id = body.member_id or user.subject
    return ClaimPublic.of(
        await submit_claim(aid, user, scheme, member_id, body.claimed_fen, body.occurred_on)
    )


@router.get(f"{SCHEME}/claims")
async def list_claims(
    campus: CampusCode, year: Year, code: Code, aid: AidDep, user: CurrentUser
) -> list[ClaimPublic]:
    """The scheme's claims with their status and amounts; role: cadre or finance of the
    campus."""
    scheme = await scheme_of(aid, user, campus, year, code)
    return [ClaimPublic.of(c) for c in await claims_of_scheme(aid, user, scheme)]


@router.get("/claims/mine")
async def list_my_claims(aid: AidDep, user: CurrentUser) -> list[ClaimPublic]:
    """My claims; role: any signed-in member (their own only)."""
    return [ClaimPublic.of(c) for c in await my_claims(aid, user)]


@router.get("/claims/{claim_id}")
async def get_claim(claim_id: ClaimId, aid: AidDep, user: CurrentUser) -> ClaimPublic:
    """One claim; role: the member themself, or a cadre of its campus."""
    return ClaimPublic.of(await claim_of(aid, user, claim_id))


@router.post("/claims/{claim_id}/status")
async def post_claim_status(
    claim_id: ClaimId, body: ClaimMove, aid: AidDep, user: CurrentUser
) -> ClaimPublic:
    """Move a claim on (submitted → with the insurer → paid or refused); role: cadre of its
    campus."""
    return ClaimPublic.of(
        await move_claim(aid, user, claim_id, body.status, body.paid_fen, body.reason)
    )
