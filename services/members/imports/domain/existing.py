"""A staff number that is already a member: the change a row makes to it, or its preview."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.members.imports.columns import BY_FIELD, COLUMNS
from services.members.imports.domain.report import Level, Outcome, RowResult
from services.members.imports.domain.row import CheckedRow, Context
from services.members.membership.domain import (
    ContactDetails,
    JoinMember,
    Member,
    MemberStatus,
    UpdateDetails,
)
from services.members.membership.grants import check_contact_change, check_not_own_salary_base
from shared.errors import DomainError, Forbidden, Refused
from shared.events.members import MemberUpdated
from shared.principal import Principal

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
        if ctx.uploader is not None:
            _check_contact(ctx.uploader, member, row.given, cmd, ctx.school_campus)
            if cmd.salary_base_fen != member.salary_base_fen:
                check_not_own_salary_base(ctx.uploader, member, row.given)
        trial = member.model_copy(deep=True)
        trial.status = MemberStatus.active  # would anything change, whatever the status?
        _apply(trial, row.given, cmd)
        if trial.events:
            _apply(member, row.given, cmd)  # the real rule: a deceased member is not edited

    return decide


def _check_contact(
    uploader: Principal, member: Member, given: Iterable[str], cmd: JoinMember, school: str
) -> None:
    """The rule of PATCH …/contact: a new e-mail or WeCom id for someone who holds more than
    the uploader is refused (else a campus cadre could redirect the chair's login links)."""
    contact = ContactDetails(**{f: getattr(cmd, f) for f in set(given) & CONTACT_FIELDS})
    try:
        check_contact_change(uploader, member, contact, school)
    except Forbidden as exc:
        field = "email" if "email" in member.contact_changes(contact) else "wecom_userid"
        raise Forbidden(exc.code, exc.message, field=field) from exc


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

    def differs(name: str) -> bool:
        if name in Member.secret_fields:
            return True
        if name == "email":  # a new e-mail waits for the member's confirmation
            return (before.email, before.pending_email) != (after.email, after.pending_email)
        return bool(getattr(before, name) != getattr(after, name))

    return [c.header for c in COLUMNS if c.field in names and differs(c.field)]


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
                f"该工号的会员当前为「{member.status.label}」；导入只更新信息，不改变会籍状态",
                Level.warning,
            )
        )
