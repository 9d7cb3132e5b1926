"""Template routes (通知模板): the defaults, per-campus wording (admin), a preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field

from services.notify.templates.defaults import DEFAULTS
from services.notify.templates.domain import TemplateText, default_of, validate
from services.notify.templates.store import Templates
from shared.auth import CurrentUser
from shared.principal import Role
from shared.problems import PROBLEM_RESPONSES
from shared.runtime import provided

TemplatesDep = Annotated[Templates, Depends(provided("templates"))]

router = APIRouter(prefix="/templates", responses=PROBLEM_RESPONSES, tags=["模板 templates"])

TemplateKey = Annotated[
    str,
    Path(
        pattern=r"^[a-z_]{1,40}$",
        description="模板名称",
        json_schema_extra={"enum": sorted(DEFAULTS)},
    ),
]
CampusCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9-]{0,31}$", description="校区代码")]


class TemplateBody(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="标题模板（Jinja2）")
    body: str = Field(min_length=1, max_length=4000, description="正文模板（Jinja2）")


class OverridePublic(BaseModel):
    campus: str
    title: str
    body: str
    saved_by: str


class TemplatePublic(BaseModel):
    key: str
    label: str
    title: str = Field(description="默认标题模板")
    body: str = Field(description="默认正文模板")
    variables: list[str] = Field(description="模板可用的变量")
    sample: dict[str, Any] = Field(description="预览用的示例数据")
    overrides: list[OverridePublic] = Field(description="各校区的自定义文字")


class PreviewPublic(BaseModel):
    title: str
    text: str
    html: str


async def _public(key: str, templates: Templates) -> TemplatePublic:
    d = default_of(key)
    overrides = [
        OverridePublic(campus=o["campus"], title=o["title"], body=o["body"], saved_by=o["saved_by"])
        for o in await templates.overrides(key)
    ]
    return TemplatePublic(
        key=key,
        label=d.label,
        title=d.title,
        body=d.body,
        variables=d.variables,
        sample=dict(d.sample),
        overrides=overrides,
    )


@router.get("")
async def list_templates(templates: TemplatesDep, user: CurrentUser) -> list[TemplatePublic]:
    """Every route's template with its variables and campus overrides; role: cadre."""
    user.require(Role.cadre)
    return [await _public(key, templates) for key in DEFAULTS]


@router.get("/{key}")
async def get_template(
    key: TemplateKey, templates: TemplatesDep, user: CurrentUser
) -> TemplatePublic:
    """One template with its variables and campus overrides; role: cadre."""
    user.require(Role.cadre)
    return await _public(key, templates)


@router.post("/{key}/preview")
async def preview_template(
    key: TemplateKey, body: TemplateBody, user: CurrentUser
) -> PreviewPublic:
    """Validate a wording and render it with the sample data (nothing saved); role: cadre."""
    user.require(Role.cadre)
    rendered = validate(key, TemplateText(body.title, body.body))
    return PreviewPublic(title=rendered.title, text=rendered.text, html=rendered.html)


@router.put("/{key}/campuses/{campus}")
async def save_template(
    key: TemplateKey,
    campus: CampusCode,
    body: TemplateBody,
    templates: TemplatesDep,
    user: CurrentUser,
) -> PreviewPublic:
    """Save a campus's own wording of a template once it validates; role: admin of the campus."""
    user.require(Role.admin, campus=campus)
    text = TemplateText(body.title, body.body)
    rendered = validate(key, text)
    await templates.save(key, campus, text, user.subject)
    return PreviewPublic(title=rendered.title, text=rendered.text, html=rendered.html)


@router.delete("/{key}/campuses/{campus}", status_code=status.HTTP_204_NO_CONTENT)
async def reset_template(
    key: TemplateKey, campus: CampusCode, templates: TemplatesDep, user: CurrentUser
) -> Response:
    """Go back to the default wording on a campus; role: admin of the campus."""
    user.require(Role.admin, campus=campus)
    default_of(key)
    await templates.reset(key, campus)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
