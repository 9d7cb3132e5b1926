"""Bulk import of members (新教师入会): the rules, pure — no database, no broker.

An uploaded list becomes rows (`parse_upload`); each row becomes the very command a cadre's
form sends (`JoinMember`), checked by the same validation and the same `join()` rules as
POST /members, plus the organisation (campus, department, small group must exist) and the
uploader's campuses. A staff number that is already a member is compared with the row:
identical is "unchanged", otherwise an update through the member's own rules.

What an import may change on an existing member (documented in the README): the details a
cadre corrects with PATCH — name, department, gender, birth date, position, employment type,
hire date, small group, ID number, salary base — and the contact details (phone, e-mail,
WeCom id); only from cells that are not empty (an empty cell never erases anything). Never
the staff number (the key), the campus (a transfer has its own step), the status and its
dates (approve, withdraw … have theirs), union roles or congress terms. "Active" only decides
how *new* people join.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from services.members.imports.columns import (
    BY_FIELD,
    COLUMNS,
    HEADER_OF,
    ColumnAt,
    Header,
    find_header,
)
from services.members.membership.domain import (
    STATUS_ZH,
    ContactDetails,
    EmploymentType,
    JoinMember,
    Member,
    MemberStatus,
    UpdateDetails,
    id_number_checks_out,
    join,
)
from services.members.org.domain import Campus
from shared.errors import DomainError, Refused
from shared.events.members import MemberUpdated
from shared.spreadsheet import Cell, Unreadable, column_letter, excel_date, read_table
from shared.text import fold_width, normalize

MAX_ROWS = 20_000  # a whole school's staff fits; a larger file is a mistake
ALL = "*"


class Level(StrEnum):
    error = "error"  # the row is refused
    warning = "warning"  # imported, but a person should look


class Problem(BaseModel):
    """One thing wrong with the file, a row or a cell."""

    row: int | None = Field(description="Excel 行号（表头为第 1 行）；整个文件的问题为空")
    column: str | None = Field(description="列名（中文）")
    cell: str | None = Field(None, description="单元格位置，如 F7")
    code: str = Field(description="稳定的问题代码，如 member.invalid_phone")
    message: str = Field(description="中文说明")
    level: Level


class Outcome(StrEnum):
    create = "create"  # 新增
    update = "update"  # 更新
    unchanged = "unchanged"  # 无变化
    refused = "refused"  # 有误，不导入
    duplicate = "duplicate"  # 与上面某行相同，忽略


OUTCOME_ZH = {
    Outcome.create: "新增",
    Outcome.update: "更新",
    Outcome.unchanged: "无变化",
    Outcome.refused: "有误",
    Outcome.duplicate: "重复行",
}


class RowResult(BaseModel):
    """What happens (or would happen) to one row."""

    row: int = Field(description="Excel 行号")
    staff_no: str | None = None
    name: str | None = None
    campus: str | None = None
    outcome: Outcome
    changed: list[str] = Field(default_factory=list, description="更新时改变的列")
    problems: list[Problem] = Field(default_factory=list)


# -- the file ---------------------------------------------------------------------------------


@dataclass
class SourceRow:
    """One data row: its Excel row number and its non-empty cells by field."""

    row: int
    values: dict[str, Cell]
    duplicate_of: int | None = None  # an identical row above: this one is ignored
    conflicts: tuple[int, ...] = ()  # other rows with this staff number and other values

    def to_doc(self) -> dict[str, Any]:
        return {
            "r": self.row,
            "v": {
                k: {"d": v.isoformat()} if isinstance(v, date) else v
                for k, v in self.values.items()
            },
            "d": self.duplicate_of,
            "c": list(self.conflicts),
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> SourceRow:
        values = {
            k: date.fromisoformat(v["d"]) if isinstance(v, dict) else v for k, v in doc["v"].items()
        }
        return cls(doc["r"], values, doc.get("d"), tuple(doc.get("c", ())))


@dataclass
class Upload:
    """A parsed file: where its columns are, its rows, and what is wrong with it as a whole."""

    format: str | None
    header: Header | None
    rows: list[SourceRow]
    problems: list[Problem]
    epoch_1904: bool = False

    @property
    def columns(self) -> dict[str, ColumnAt]:
        return self.header.columns if self.header else {}


def parse_upload(data: bytes, has_default_campus: bool) -> Upload:
    """Rows of a CSV or XLSX member list, or the file's problems when it cannot be used."""
    try:
        table = read_table(data, MAX_ROWS + 11)
    except Unreadable as exc:
        return Upload(None, None, [], [_file_problem("import.unreadable_file", exc.message)])
    if not table.rows:
        return Upload(table.format, None, [], [_file_problem("import.empty_file", "文件是空的")])
    header = find_header(table.rows, has_default_campus)
    problems = [
        Problem(
            row=header.row,
            column=p.column,
            cell=f"{column_letter(p.index)}{header.row}" if p.index is not None else None,
            code=p.code,
            message=p.message,
            level=Level(p.level),
        )
        for p in header.problems
    ]
    if not header.usable:
        return Upload(table.format, header, [], problems, table.epoch_1904)
    rows = []
    for number, cells in table.rows:
        if number <= header.row:
            continue
        values = {
            f: cells[at.index]
            for f, at in header.columns.items()
            if at.index < len(cells) and not _blank(cells[at.index])
        }
        if values:
            rows.append(SourceRow(number, values))
    if len(rows) > MAX_ROWS:
        problems.append(
            _file_problem("import.too_many_rows", f"一次最多导入 {MAX_ROWS} 行，请把文件拆开导入")
        )
        return Upload(table.format, header, [], problems, table.epoch_1904)
    if not rows:
        problems.append(_file_problem("import.empty_file", "表头下面没有数据行"))
    mark_duplicates(rows)
    return Upload(table.format, header, rows, problems, table.epoch_1904)


def _file_problem(code: str, message: str) -> Problem:
    return Problem(row=None, column=None, code=code, message=message, level=Level.error)


def _blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def mark_duplicates(rows: list[SourceRow]) -> None:
    """Rows of one staff number: identical copies are ignored, different ones all refused
    (which of them is right is for a person to say)."""
    groups: dict[str, list[SourceRow]] = {}
    for row in rows:
        staff_no = row.values.get("staff_no")
        if staff_no is not None:
            groups.setdefault(fold_width(_as_text(staff_no)).upper(), []).append(row)
    for group in groups.values():
        if len(group) < 2:
            continue
        identities = {_identity(r) for r in group}
        if len(identities) == 1:
            for row in group[1:]:
                row.duplicate_of = group[0].row
        else:
            numbers = tuple(r.row for r in group)
            for row in group:
                row.conflicts = tuple(n for n in numbers if n != row.row)


def _identity(row: SourceRow) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, _canonical(v)) for k, v in row.values.items()))


def _canonical(cell: Cell) -> str:
    return " ".join(unicodedata.normalize("NFKC", _as_text(cell)).split())


# -- one row ----------------------------------------------------------------------------------


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


class _CellError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def check_row(source: SourceRow, ctx: Context) -> CheckedRow:
    """Every rule a row must pass before the database is asked anything."""
    row = source.row
    staff_text = _as_text(source.values["staff_no"]) if "staff_no" in source.values else None
    name_text = _as_text(source.values["name"]) if "name" in source.values else None
    result = RowResult(
        row=row,
        staff_no=fold_width(staff_text).upper() if staff_text else None,
        name=_canonical(name_text) if name_text else None,
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
            campus = _campus(campus_cell, ctx)
            payload["campus"] = campus.id
        except _CellError as exc:
            refuse("campus", exc.code, exc.message)
    elif ctx.default_campus:  # a cadre of one campus may leave the campus out
        campus = ctx.campuses.get(ctx.default_campus)
        payload["campus"] = ctx.default_campus
    result.campus = payload.get("campus")
    for name, cell in source.values.items():
        if name == "campus":
            continue
        try:
            payload[name] = _convert(name, cell, ctx, campus)
        except _CellError as exc:
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


def _campus(cell: Cell, ctx: Context) -> Campus:
    text = _canonical(cell)
    found = ctx.campuses.get(text) or ctx.campuses.get(text.lower())
    if found is None:
        found = next((c for c in ctx.campuses.values() if c.name == text), None)
    if found is None:
        raise _CellError("org.unknown_campus", f"校区「{text}」不存在")
    return found


def _convert(name: str, cell: Cell, ctx: Context, campus: Campus | None) -> Any:
    kind = BY_FIELD[name].kind if name != "salary_base_fen" else _salary_kind(ctx)
    if kind == "date":
        return _date(name, cell, ctx.epoch_1904)
    if kind == "gender":
        return _gender(cell)
    if kind == "employment":
        return _employment(cell)
    if kind == "small_group":
        return _small_group(cell, campus)
    if kind == "yuan":
        return _yuan(cell)
    if kind == "fen":
        return _fen(cell)
    if name == "id_number":
        _not_a_number(cell)
    return _as_text(cell)


def _salary_kind(ctx: Context) -> str:
    at = ctx.columns.get("salary_base_fen")
    return at.column.kind if at else "yuan"


def _as_text(cell: Cell) -> str:
    """A cell as text: numbers without Excel's ".0", dates as YYYY-MM-DD, spaces collapsed."""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, date):
        return cell.isoformat()
    text = "" if cell is None else str(cell)
    return " ".join(text.replace("\u3000", " ").split())


_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_SERIAL = re.compile(r"^\d{1,5}(\.\d+)?$")


def _date(name: str, cell: Cell, epoch_1904: bool) -> date:
    header = HEADER_OF[name]
    if isinstance(cell, date):
        return cell
    if isinstance(cell, int | float):
        found = excel_date(cell, epoch_1904)
        if found is None:
            raise _CellError("import.invalid_date", f"{header}「{cell}」不是日期")
        return found
    text = unicodedata.normalize("NFKC", str(cell)).strip()
    text = re.split(r"[ T]\d{1,2}:\d{2}", text)[0].strip()  # "1990-03-08 00:00:00"
    try:
        if match := _DATE.match(text):
            return date(*(int(g) for g in match.groups()))
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if _SERIAL.match(text) and (found := excel_date(float(text), epoch_1904)):
            return found
    except ValueError:
        pass
    raise _CellError(
        "import.invalid_date", f"{header}「{_as_text(cell)}」不是有效日期，请写成 1990-03-08"
    )


_GENDER = {"男": "male", "女": "female", "男性": "male", "女性": "female", "m": "male"}
_GENDER |= {"f": "female", "male": "male", "female": "female"}


def _gender(cell: Cell) -> str:
    text = unicodedata.normalize("NFKC", _as_text(cell)).strip().lower()
    if text not in _GENDER:
        raise _CellError("import.invalid_gender", f"性别「{_as_text(cell)}」应为「男」或「女」")
    return _GENDER[text]


def _employment(cell: Cell) -> EmploymentType:
    text = unicodedata.normalize("NFKC", _as_text(cell)).strip()
    for kind in EmploymentType:
        if text in (kind.value, kind.name):
            return kind
    allowed = "、".join(k.value for k in EmploymentType)
    raise _CellError("import.invalid_employment_type", f"用工形式「{text}」应为：{allowed}")


def _small_group(cell: Cell, campus: Campus | None) -> str:
    text = _canonical(cell)
    if campus is None:
        return text  # the campus is refused already; nothing to look the group up in
    for group in campus.small_groups:
        if text in (group.code, group.name):
            return group.code
    raise _CellError("org.unknown_small_group", f"校区「{campus.name}」没有教工小家「{text}」")


_MONEY = re.compile(r"^\d+(\.\d{1,2})?$")


def _yuan(cell: Cell) -> int:
    text = unicodedata.normalize("NFKC", _as_text(cell)).replace(",", "").replace("元", "")
    text = text.lstrip("¥￥").strip()
    if not _MONEY.match(text):
        raise _CellError(
            "import.invalid_amount", f"会费基数「{_as_text(cell)}」应为金额（元），最多两位小数"
        )
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already says so
        raise _CellError("import.invalid_amount", "会费基数应为金额（元）") from exc


def _fen(cell: Cell) -> int:
    text = unicodedata.normalize("NFKC", _as_text(cell))
    if not re.fullmatch(r"\d+", text):
        raise _CellError("import.invalid_amount", f"会费基数「{text}」应为整数（分）")
    return int(text)


def _not_a_number(cell: Cell) -> None:
    """An 18-digit ID number stored as a number has lost its last digits (Excel keeps 15)."""
    text = str(cell)
    if isinstance(cell, int | float) or re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        raise _CellError(
            "member.invalid_id_number",
            "身份证号被 Excel 存成了数字，末几位已丢失；请把该列设为「文本」后重新填写",
        )


# -- a staff number that is already a member --------------------------------------------------

DETAIL_FIELDS = frozenset(UpdateDetails.model_fields) & frozenset(BY_FIELD)
CONTACT_FIELDS = frozenset(ContactDetails.model_fields)


def import_change(row: CheckedRow, ctx: Context) -> Callable[[Member], None]:
    """The change a row makes to an existing member, for `AggregateStore.change`: the details
    and contact the row gives, through the member's own rules, as one change with one
    `updated` event (plus the contact event); nothing when the row says what the member is."""
    assert row.command is not None and row.new_member is not None
    cmd, campus = row.command, row.new_member.campus

    def decide(member: Member) -> None:
        if member.campus != campus:
            where = (
                f"「{ctx.campus_name(member.campus)}」"
                if ctx.may_import(member.campus)
                else "其他校区"
            )
            raise Refused(
                "import.campus_differs",
                f"工号「{member.staff_no}」已是{where}的会员；转校区请使用转校区功能",
                field="campus",
            )
        trial = member.model_copy(deep=True)
        trial.status = MemberStatus.active  # would anything change, whatever the status?
        _apply(trial, row.given, cmd)
        if trial.events:
            _apply(member, row.given, cmd)  # the real rule: a deceased member is not edited

    return decide


def _apply(member: Member, given: Iterable[str], cmd: JoinMember) -> None:
    fields = set(given)
    member.update(UpdateDetails(**{f: getattr(cmd, f) for f in fields & DETAIL_FIELDS}))
    member.change_contact(ContactDetails(**{f: getattr(cmd, f) for f in fields & CONTACT_FIELDS}))
    events = member.pull_events()
    updated = [e for e in events if isinstance(e, MemberUpdated)]
    if len(updated) > 1:  # details and contact changed together: one `updated` says both
        changed = sorted({f for e in updated for f in e.changed})
        rest = [e for e in events if not isinstance(e, MemberUpdated)]
        events = [MemberUpdated.of(member, changed=changed), *rest]
    member.record(*events)


def preview_existing(member: Member, row: CheckedRow, ctx: Context) -> RowResult:
    """What importing the row would do to the member as it is now (a dry run)."""
    result = row.result.model_copy(deep=True)
    # Tried against the member with the sealed fields the row gives blanked: the answer
    # (update, refused) is then the same whether the file's ID number or salary base equals
    # the stored one or not, so a dry run never confirms a guess.
    probe = member.model_copy(deep=True)
    for name in Member.secret_fields & set(row.given):
        setattr(probe, name, None)
    after = probe.model_copy(deep=True)
    try:
        import_change(row, ctx)(after)
    except DomainError as exc:
        return refuse_result(result, exc, ctx)
    result.changed = changed_columns(probe, after, row.given)
    result.outcome = Outcome.update if result.changed else Outcome.unchanged
    note_status(result, member, ctx)
    return result


def changed_columns(before: Member, after: Member, given: Iterable[str]) -> list[str]:
    """The columns the row changes. A sealed column (ID number, salary base) the row gives is
    listed whether or not it differs: comparing it would tell whoever uploads a file what the
    stored value is, one guess per row, without ever being allowed to read it."""
    names = set(given)
    return [
        c.header
        for c in COLUMNS
        if c.field in names
        and (c.field in Member.secret_fields or getattr(before, c.field) != getattr(after, c.field))
    ]


def refuse_result(result: RowResult, exc: DomainError, ctx: Context) -> RowResult:
    name = exc.details.get("field")
    result.outcome = Outcome.refused
    result.changed = []
    result.problems = sorted(
        [*result.problems, ctx.problem(result.row, name, exc.code, exc.message, Level.error)],
        key=ctx.order,
    )
    return result


def note_status(result: RowResult, member: Member, ctx: Context) -> None:
    """An import never changes a status: say so when the person is no longer in the union
    (withdrawn, rejected, retired, deceased), since the file meant them to be."""
    if member.status not in (MemberStatus.applied, MemberStatus.active):
        result.problems.append(
            ctx.problem(
                result.row,
                None,
                "import.status_kept",
                f"该工号的会员当前为「{STATUS_ZH[member.status]}」；导入只更新信息，不改变会籍状态",
                Level.warning,
            )
        )


# -- the report -------------------------------------------------------------------------------


class Counts(BaseModel):
    rows: int = Field(0, description="数据行数")
    create: int = Field(0, description="新增")
    update: int = Field(0, description="更新")
    unchanged: int = Field(0, description="无变化")
    refused: int = Field(0, description="有误")
    duplicate: int = Field(0, description="重复行（已忽略）")
    warnings: int = Field(0, description="有提醒的行")


def count(results: Iterable[RowResult]) -> Counts:
    counts = Counts()
    for r in results:
        counts.rows += 1
        setattr(counts, r.outcome.value, getattr(counts, r.outcome.value) + 1)
        if r.outcome is not Outcome.duplicate and any(p.level is Level.warning for p in r.problems):
            counts.warnings += 1
    return counts


@dataclass
class Verdict:
    """The job's outcome in one Chinese sentence, and whether anything was written."""

    written: bool
    summary: str
    notes: list[str] = field(default_factory=list)


def verdict(counts: Counts, commit: bool, written: bool, file_ok: bool) -> Verdict:
    if not file_ok:
        return Verdict(False, "文件无法导入，请按提示修改后重新上传")
    parts = [f"共 {counts.rows} 行"]
    verb = "" if written else "可"
    for key, label in (("create", "新增"), ("update", "更新"), ("unchanged", "无变化")):
        n = getattr(counts, key)
        if n:
            parts.append(f"{verb if key != 'unchanged' else ''}{label} {n} 行")
    if counts.duplicate:
        parts.append(f"重复行 {counts.duplicate} 行（已忽略）")
    if counts.refused:
        parts.append(f"有误 {counts.refused} 行")
    text = "，".join(parts)
    if not commit:
        return Verdict(False, f"检查完成（未写入）：{text}")
    if written:
        tail = "；有误的行未导入" if counts.refused else ""
        return Verdict(True, f"导入完成：{text}{tail}")
    return Verdict(
        False,
        f"有 {counts.refused} 行有误，未导入任何数据：{text}。请改正后重新导入，或选择只导入正确的行",
    )
