"""RFC 9457 problem details: a stable `code`, a zh-CN title, and nothing written on error."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.errors import DomainError
from shared.timeutil import as_local

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:gonghui:problem:"

# Pydantic error types a school's input really produces, said in Chinese.
_VALIDATION_ZH = {
    "missing": "缺少必填项",
    "string_type": "应为文本",
    "string_too_short": "内容不能为空或过短",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不正确",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为是或否",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "datetime_parsing": "时间格式不正确",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "value_error": "取值不正确",
    "json_invalid": "请求体不是合法的 JSON",
    "model_attributes_type": "请求体应为 JSON 对象",
    "dict_type": "请求体应为 JSON 对象",
    "extra_forbidden": "不允许的字段",
}

_STATUS_ZH = {
    400: ("request.bad", "请求有误"),
    401: ("auth.unauthorized", "未登录"),
    403: ("auth.forbidden", "无权执行此操作"),
    404: ("resource.not_found", "未找到请求的资源"),
    405: ("request.method_not_allowed", "不支持该请求方法"),
    409: ("resource.conflict", "与现有数据冲突"),
    413: ("request.too_large", "请求内容过大"),
    415: ("request.unsupported_media_type", "不支持的内容类型"),
    422: ("request.invalid", "请求参数不合法"),
    429: ("request.too_many", "请求过于频繁，请稍后再试"),
    503: ("service.busy", "服务繁忙，请稍后再试"),
}


class ProblemError(Exception):
    """Raised anywhere in a request to answer with problem+json."""

    headers: dict[str, str] | None = None  # e.g. `Retry-After` of a 429 or 503

    def __init__(self, code: str, status: int, title: str, detail: str | None = None, **extra: Any):
        super().__init__(f"{code}: {title}")
        self.code, self.status, self.title, self.detail, self.extra = (
            code,
            status,
            title,
            detail,
            extra,
        )


def problem_response(
    code: str,
    status: int,
    title: str,
    detail: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    # A rule may name a moment (an activity's start) or any other value: moments are shown in
    # Asia/Shanghai like everywhere else, the rest as the API's JSON would show them.
    body.update(
        {
            k: as_local(v) if isinstance(v, datetime) else v
            for k, v in extra.items()
            if v is not None
        }
    )
    return JSONResponse(
        jsonable_encoder(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        errors.append(
            {
                "field": ".".join(loc),
                "code": err.get("type", "invalid"),
                "message": _VALIDATION_ZH.get(err.get("type", ""), "取值不正确"),
                # pydantic's own words, for developers; the Chinese message is for people
                "reason": str(err.get("msg", "")),
            }
        )
    return errors


def _template(path: str) -> re.Pattern[str]:
    """`/members/{member_id}` as a pattern matching one path segment per parameter."""
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app serves at this request's path."""
    methods: set[str] = set()
    for path, operations in request.app.openapi().get("paths", {}).items():
        if _template(path).fullmatch(request.url.path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class NoControlCharacters:
    """404 for a path with a control character: no resource of Gonghui has one, and the
    storage could not even look one up (PostgreSQL's jsonb holds no NUL). Pure ASGI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _CONTROL.search(scope.get("path", "")):
            code, title = _STATUS_ZH[404]
            await problem_response(code, 404, title, None, None)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    app.add_middleware(NoControlCharacters)

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.code,
            exc.status,
            exc.title,
            exc.detail,
            request.url.path,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        # One mapping for every service: the kind of the rule decides the status.
        return problem_response(
            exc.code, exc.status, exc.message, None, request.url.path, **exc.details
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        detail = "；".join(f"{e['field'] or '请求'}：{e['message']}" for e in errors)
        return problem_response(
            "request.invalid", 422, "请求参数不合法", detail, request.url.path, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # Bytes that are not UTF-8 JSON: the same answer as malformed JSON.
            return problem_response(
                "request.invalid",
                422,
                "请求参数不合法",
                "请求体不是合法的 JSON（须为 UTF-8 编码）",
                request.url.path,
            )
        content_type = request.headers.get("content-type", "")
        if exc.status_code == 400 and content_type.startswith("multipart/form-data"):
            # A file upload whose multipart framing is broken (Starlette's "Invalid multipart
            # data", "Missing boundary …"): the documented 422, like malformed JSON.
            return problem_response(
                "request.invalid",
                422,
                "请求参数不合法",
                "上传的表单数据无法解析，请重新选择文件上传",
                request.url.path,
            )
        headers = dict(exc.headers) if exc.headers else None
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; RFC 9110 wants
            # every method the resource supports.
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        code, title = _STATUS_ZH.get(exc.status_code, ("http.error", "请求失败"))
        detail = (
            exc.detail if isinstance(exc.detail, str) and exc.detail not in ("Not Found",) else None
        )
        # Keep the headers Starlette sets: `Allow` on 405 (RFC 9110), `WWW-Authenticate` …
        return problem_response(
            code,
            exc.status_code,
            title,
            detail,
            request.url.path,
            headers=headers,
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            "server.error", 500, "服务器内部错误，请稍后重试", None, request.url.path
        )


# For route declarations: documents the problem answers in OpenAPI.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"description": title, "content": {MEDIA_TYPE: {}}}
    for status, (_, title) in _STATUS_ZH.items()
    if status in (401, 403, 404, 409, 422)
}
# For the routes a throttle guards (sign-in, login links, password change).
THROTTLED_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": title,
        "content": {MEDIA_TYPE: {}},
        "headers": {"Retry-After": {"description": "秒数", "schema": {"type": "integer"}}},
    }
    for status, (_, title) in _STATUS_ZH.items()
    if status in (429, 503)
}
