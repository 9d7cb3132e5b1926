"""One row: the rules it must pass before the database is asked anything, as a command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from services.members.imports.columns import BY_FIELD, HEADER_OF, ColumnAt
from services.members.imports.domain.cells import CellError, as_text, campus_of, canonical, convert
from services.members.imports.domain.report import Level, Outcome, Problem, RowResult
from services.members.imports.domain.upload import SourceRow
from services.members.membership.domain import JoinMember, Member, id_number_checks_out, join
from services.members.org.domain import Campus
from shared.errors import DomainError
from shared.principal import Principal
from shared.text import fold_width, normalize

ALL = "*"


@dataclass(frozen=True)
class Context:
    """What checking a row needs to know besides the row: no I/O behind any of it."""

    campuses: Mapping[str, Campus]  # code → the campus as it is now
    scope: frozenset[str]  # the uploader's campuses ("*" = all)
    active: bool  # new people join as active members (else as applicants)
    today: date
    columns: Mapping[str, ColumnAt]
    default_campus: str | None = None  # when the file has no 校区 column
    epoch_1904: bool = False
    # Who uploaded it, as their token said (a change to a member's e-mail or WeCom id needs
    # them to cover the member), and the school union's campus (`grants`).
    uploader: Principal | None = None
    school_campus: str = "main"

    def may_import(self, campus: str) -> bool:
        return ALL in self.scope or campus in self.scope

    def campus_name(self, code: str) -> str:
        found = self.campuses.get(code)
        return found.name if found else code

    def problem(
        self, row: int, field: str | None, code: str, message: str, level: Level
    ) -> Problem:
        at = self.columns.get(field) if field else None
        return Problem(
            row=row,
            column=HEADER_OF.get(field) if field else None,
            cell=f"{at.letter}{row}" if at else None,
            code=code,
            message=message,
            level=level,
        )

    def order(self, problem: Problem) -> tuple[int, int]:
        """Problems of a row read left to right, as the person sees the columns."""
        for f, at in self.columns.items():
            if HEADER_OF.get(f) == problem.column:
                return (0, at.index)
        return (1, 0)


@dataclass
class CheckedRow:
    """A row after the rules that need no database: refused, a duplicate, or a command."""

    source: SourceRow
    result: RowResult
    command: JoinMember | None = None
    new_member: Member | None = None  # what join() makes of it, events recorded
    given: frozenset[str] = frozenset()  # the fields the row gives (non-empty cells)

    @property
    def member_id(self) -> str | None:
        return self.new_member.id if self.new_member else None


def check_row(source: SourceRow, ctx: Context) -> CheckedRow:
    """Every rule a row must pass before the database is asked anything."""
    row = source.row
    staff_text = as_text(source.values["staff_no"]) if "staff_no" in source.values else None
    name_text = as_text(source.values["name"]) if "name" in source.values else None
    result = RowResult(
        row=row,
        staff_no=fold_width(staff_text).upper() if staff_text else None,
        name=canonical(name_text) if name_text else None,
        outcome=Outcome.refused,
    )
    if source.conflicts:
        others = "、".join(str(n) for n in source.conflicts)
        result.problems.append(
            ctx.problem(
                row,
                "staff_no",
                "import.conflicting_rows",
                f"工号「{result.staff_no}」在第 {others} 行也出现，且内容不同；请只保留一行",
                Level.error,
            )
        )
        return CheckedRow(source, result)
    if source.duplicate_of is not None:
        result.outcome = Outcome.duplicate
        result.problems.append(
            ctx.problem(
                row,
                None,
                "import.duplicate_row",
                f"与第 {source.duplicate_of} 行完全相同，已忽略",
                Level.warning,
            )
        )
        return CheckedRow(source, result)

    problems: list[Problem] = []
    payload: dict[str, Any] = {}
    campus: Campus | None = None
    failed: set[str] = set()

    def refuse(field: str, code: str, message: str) -> None:
        failed.add(field)
        problems.append(ctx.problem(row, field, code, message, Level.error))

    campus_cell = source.values.get("campus")
    if campus_cell is not None:
        try:
            campus = campus_of(campus_cell, ctx.campuses)
            payload["campus"] = campus.id
        except CellError as exc:
            refuse("campus", exc.code, exc.message)
    elif ctx.default_campus:  # a cadre of one campus may leave the campus out
        campus = ctx.campuses.get(ctx.default_campus)
        payload["campus"] = ctx.default_campus
    result.campus = payload.get("campus")
    for name, cell in source.values.items():
        if name == "campus":
            continue
        try:
            payload[name] = convert(name, _kind(name, ctx), cell, campus, ctx.epoch_1904)
        except CellError as exc:
            refuse(name, exc.code, exc.message)

    command: JoinMember | None = None
    try:
        command = JoinMember.model_validate({**payload, "as_applicant": not ctx.active})
    except ValidationError as exc:
        for err in exc.errors():
            name = str(err["loc"][0]) if err.get("loc") else ""
            if name in failed or name not in BY_FIELD:
                continue
            code, message = _validation_problem(name, err, payload.get(name))
            refuse(name, code, message)
        if not problems:  # an error of no column a person can fix: say so all the same
            refuse("", "import.invalid_row", "该行无法导入，请检查各列内容")
    # The organisation and the uploader's campuses: said even when other cells are wrong.
    department = payload.get("department")
    if campus is not None and isinstance(department, str) and "department" not in failed:
        try:
            campus.require_department(normalize(department))
        except DomainError as exc:
            refuse("department", exc.code, exc.message)
    if campus is not None and not ctx.may_import(campus.id):
        message = f"无权导入校区「{campus.name}」的会员"
        refuse("campus", "import.campus_forbidden", message)
    new_member = None
    if command is not None and not problems:
        try:
            new_member = join(command, ctx.today)
        except DomainError as exc:
            refuse(str(exc.details.get("field") or ""), exc.code, exc.message)
    if new_member is not None and new_member.id_number:
        if not id_number_checks_out(new_member.id_number):
            problems.append(
                ctx.problem(
                    row,
                    "id_number",
                    "member.id_number_check_digit",
                    "身份证号校验位不符，请核对",
                    Level.warning,
                )
            )
    result.problems = sorted(problems, key=ctx.order)
    if any(p.level is Level.error for p in problems) or new_member is None:
        return CheckedRow(source, result)
    result.outcome = Outcome.create
    result.staff_no, result.name = new_member.staff_no, new_member.name
    given = frozenset(source.values) | {"campus"}
    return CheckedRow(source, result, command, new_member, given)


# Said as the membership rules say them (the schema's pattern fires before the rule does).
_FORMAT = {
    "phone": "手机号「{}」应为 11 位数字",
    "id_number": "身份证号应为 18 位",
    "wecom_userid": "企业微信「{}」只能包含字母、数字和 _ . @ -",
}


def _validation_problem(name: str, err: Mapping[str, Any], value: object) -> tuple[str, str]:
    header = HEADER_OF[name]
    kind = err.get("type", "")
    if kind == "missing":
        return f"member.{name}_required", f"{header}不能为空"
    if kind == "string_too_long":
        limit = (err.get("ctx") or {}).get("max_length")
        return f"member.{name}_too_long", f"{header}过长（最多 {limit} 个字）"
    message = _FORMAT.get(name, header + "「{}」格式不正确")
    return f"member.invalid_{name}", message.format(value)


def _kind(name: str, ctx: Context) -> str:
    """A column's kind; the salary base's depends on its header (会费基数 in 元 or in 分)."""
    if name != "salary_base_fen":
        return BY_FIELD[name].kind
    at = ctx.columns.get("salary_base_fen")
    return at.column.kind if at else "yuan"
