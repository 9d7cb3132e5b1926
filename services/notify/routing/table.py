"""The routing table: every event type a person should hear about, whom it reaches, in which
template and on which channels — and, in `UNROUTED`, every other catalogued type with why.

A test fails when a catalogued type is in neither list (tests/unit/test_notify_rules.py), so
a new event type is a conscious choice. Templates are in `templates/defaults.py`. A route's
facts function gets the event and when it happened (the envelope's time, aware UTC: see
`routing.domain.FactsOf`); most need only the event.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from services.notify.routing.domain import (
    Audience,
    Category,
    ChannelName,
    Facts,
    NotifyRoute,
    RoutingTable,
    routing_table,
)
from services.notify.routing.reminders import (
    ActivityInAnHour,
    ActivityTomorrow,
    ExamTomorrow,
    GiftChoiceDue,
)
from shared.events.events import (
    ActivityCancelled,
    ActivityChanged,
    ActivityFacts,
    ActivityPublished,
    RegistrationCancelled,
    RegistrationConfirmed,
    RegistrationFacts,
    RegistrationPromoted,
    RegistrationWaitlisted,
)
from shared.events.members import (
    AccountLocked,
    EmailChangeRequested,
    LoginLinkRequestedV2,
    MemberApplied,
    MemberJoinedV2,
    PasswordChanged,
)
from shared.events.voice import (
    CampaignResultPublished,
    ProposalMoved,
    SuggestionReplied,
    SurveyClosingSoon,
    SurveyFacts,
    SurveyOpened,
)
from shared.events.welfare import BirthdayBenefitOffered, BudgetThresholdReached, CaseApproved
from shared.events.welfare_exams import ExamBooked, ExamBookingReminderRequested
from shared.events.welfare_plans import EntitlementCreated, EntitlementIssued
from shared.timeutil import SHANGHAI
from shared.vocabulary.welfare import CaseKind
from shared.vocabulary.welfare_plans import Festival

INBOX, EMAIL, WECOM, SMS = ChannelName.inbox, ChannelName.email, ChannelName.wecom, ChannelName.sms

# What makes an activity change worth telling its registrants.
ANNOUNCED_CHANGES = {"starts_at": "时间", "ends_at": "结束时间", "venue": "地点", "title": "名称"}
CANCELLED_BY = {
    "member": "本人取消",
    "cadre": "工会干部取消",
    "member_left": "会籍变动",
    "activity_cancelled": "活动取消",
}


def moment(value: datetime | None) -> str:
    """A UTC moment as people read it: 4月12日 09:00 (Beijing time)."""
    if value is None:
        return ""
    local = value.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def day(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def _welcome(e: MemberJoinedV2, _at: datetime) -> Facts:
    return Facts(e.campus, {"joined_on": day(e.joined_on)}, member_id=e.member_id)


def _applied(e: MemberApplied, _at: datetime) -> Facts:
    values = {"applicant": e.name, "department": e.department, "applied_on": day(e.applied_on)}
    return Facts(e.campus, values)


def _registration(e: RegistrationFacts, _at: datetime) -> Facts:
    values: dict[str, Any] = {
        "activity_title": e.activity_title,
        "guests": e.guests,
        "waitlist_no": e.waitlist_no or "",
    }
    if isinstance(e, RegistrationCancelled):
        values["reason"] = CANCELLED_BY.get(e.reason, e.reason)
    return Facts(e.member_campus, values, member_id=e.member_id, activity_id=e.activity_id)


def _activity(e: ActivityFacts, _at: datetime) -> Facts:
    values: dict[str, Any] = {
        "title": e.title,
        "kind_label": e.kind_label,
        "venue": e.venue,
        "starts": moment(e.starts_at),
        "ends": moment(e.ends_at),
        "signup_closes": moment(e.signup_closes_at),
    }
    if isinstance(e, ActivityChanged):
        values["changed"] = "、".join(
            ANNOUNCED_CHANGES[f] for f in e.changed if f in ANNOUNCED_CHANGES
        )
    if isinstance(e, ActivityCancelled):
        values["reason"] = e.reason
    return Facts(
        e.campus, values, activity_id=e.activity_id, eligibility=e.eligibility.model_dump()
    )


def _budget(e: BudgetThresholdReached, _at: datetime) -> Facts:
    values = {
        "year": e.year,
        "line": e.line,
        "threshold_pct": e.threshold_pct,
        "budget": yuan(e.budget_fen),
        "spent": yuan(e.spent_fen),
    }
    return Facts(e.campus, values)


def _survey(e: SurveyFacts, _at: datetime) -> Facts:
    values = {
        "title": e.title,
        "opens": moment(e.opens_at),
        "closes": moment(e.closes_at),
        "questions": e.questions,
        "anonymous": e.anonymous,
    }
    return Facts(e.campus, values, eligibility=e.audience.model_dump())


def _campaign_result(e: CampaignResultPublished, _at: datetime) -> Facts:
    values = {"title": e.title, "elected": len(e.elected)}
    return Facts(e.campus, values)


def _proposal_replied(e: ProposalMoved, _at: datetime) -> Facts:
    values = {"number": e.number or "", "department": e.department or ""}
    return Facts(e.campus, values, member_id=e.proposer_id)


def _suggestion_replied(e: SuggestionReplied, _at: datetime) -> Facts:
    return Facts(e.campus, {"title": e.title}, member_id=e.member_id)


def _entitlement(e: EntitlementCreated | EntitlementIssued, _at: datetime) -> Facts:
    values: dict[str, Any] = {"year": e.year}
    if isinstance(e, EntitlementCreated):
        values["standard"] = yuan(e.standard_fen)
    else:
        values["amount"] = yuan(e.amount_fen)
    return Facts(e.campus, values, member_id=e.member_id)


def _case_approved(e: CaseApproved, _at: datetime) -> Facts:
    values = {"kind_label": CaseKind(e.kind).label, "amount": yuan(e.amount_fen)}
    return Facts(e.campus, values, member_id=e.member_id)


def _birthday(e: BirthdayBenefitOffered, _at: datetime) -> Facts:
    values = {
        "month": int(e.month[5:]),
        "amount": yuan(e.amount_fen),
        "choose_by": day(e.choose_by),
    }
    return Facts(e.campus, values, member_id=e.member_id)


def _exam(e: ExamBooked, _at: datetime) -> Facts:
    values = {"day": day(e.day), "moved": e.moved_from is not None}
    return Facts(e.campus, values, member_id=e.member_id)


def _exam_not_booked(e: ExamBookingReminderRequested, _at: datetime) -> Facts:
    values = {"title": e.title, "year": e.year, "last_day": day(e.last_day)}
    return Facts(e.campus, values, member_ids=e.member_ids)


def _account(e: LoginLinkRequestedV2 | EmailChangeRequested, _at: datetime) -> Facts:
    # The link and the new address arrive sealed: their handlers open them and add the values.
    return Facts(e.campus, {}, member_id=e.member_id)


def _security(e: PasswordChanged | AccountLocked, at: datetime) -> Facts:
    """A security notice says when it happened: the envelope's time (the events carry none)."""
    values = {"at": moment(at)}
    if isinstance(e, AccountLocked):
        values["until"] = moment(e.locked_until)
    return Facts(e.campus, values, member_id=e.member_id)


ROUTES = [
    NotifyRoute(
        MemberJoinedV2, Audience.member, "welcome", (INBOX, EMAIL), Category.membership, _welcome
    ),
    NotifyRoute(
        MemberApplied,
        Audience.campus_cadres,
        "member_applied",
        (INBOX, EMAIL),
        Category.approval,
        _applied,
    ),
    NotifyRoute(
        RegistrationConfirmed,
        Audience.member,
        "registration_confirmed",
        (INBOX, WECOM),
        Category.activity,
        _registration,
    ),
    NotifyRoute(
        RegistrationWaitlisted,
        Audience.member,
        "registration_waitlisted",
        (INBOX, WECOM),
        Category.activity,
        _registration,
    ),
    NotifyRoute(
        RegistrationPromoted,
        Audience.member,
        "registration_promoted",
        (INBOX, WECOM, SMS),
        Category.activity,
        _registration,
    ),
    NotifyRoute(
        RegistrationCancelled,
        Audience.member,
        "registration_cancelled",
        (INBOX, WECOM),
        Category.activity,
        _registration,
        # A cancelled activity cancels its registrations: its own route tells them once. A
        # member who left (withdrew or died — or moved campus, which a cadre tells in person)
        # is told nothing: the audience `member` reaches whoever the event names, whatever
        # their status, and notify may not even know of the departure yet (another topic).
        when=lambda e: e.reason not in ("activity_cancelled", "member_left"),
    ),
    NotifyRoute(
        ActivityPublished,
        Audience.activity_audience,
        "activity_published",
        (INBOX, WECOM),
        Category.activity,
        _activity,
    ),
    NotifyRoute(
        ActivityChanged,
        Audience.activity_registrants,
        "activity_changed",
        (INBOX, WECOM, SMS),
        Category.activity,
        _activity,
        when=lambda e: (
            any(f in ANNOUNCED_CHANGES for f in e.changed)
            and e.status in ("published", "registration_closed")
        ),
    ),
    NotifyRoute(
        ActivityCancelled,
        Audience.activity_registrants,
        "activity_cancelled",
        (INBOX, WECOM, SMS),
        Category.activity,
        _activity,
        mandatory=True,  # people would otherwise travel to an activity that does not happen
    ),
    NotifyRoute(
        BudgetThresholdReached,
        Audience.finance,
        "budget_threshold",
        (INBOX, EMAIL),
        Category.funds,
        _budget,
    ),
    # Surveys (events.survey): their audience rule travels in the event, like an activity's.
    # Who has answered is never published, so the closing reminder reaches the whole audience.
    NotifyRoute(
        SurveyOpened,
        Audience.survey_audience,
        "survey_opened",
        (INBOX, WECOM),
        Category.survey,
        _survey,
    ),
    NotifyRoute(
        SurveyClosingSoon,
        Audience.survey_audience,
        "survey_closing_soon",
        (INBOX, WECOM),
        Category.survey,
        _survey,
    ),
    # Members' voice: a commendation's result goes to the campaign's campus (公布, after the
    # 公示); a proposal's reply to its proposer (a second reply too: they asked for it).
    NotifyRoute(
        CampaignResultPublished,
        Audience.campus_members,
        "campaign_result",
        (INBOX, WECOM),
        Category.voice,
        _campaign_result,
    ),
    NotifyRoute(
        ProposalMoved,
        Audience.member,
        "proposal_replied",
        (INBOX, WECOM, EMAIL),
        Category.voice,
        _proposal_replied,
        when=lambda e: e.status == "replied",
    ),
    # The suggestion box: a writer who signed with their name hears of the reply; an
    # anonymous suggestion's events name nobody, so nobody is told (the box page shows it).
    NotifyRoute(
        SuggestionReplied,
        Audience.member,
        "suggestion_replied",
        (INBOX, WECOM),
        Category.voice,
        _suggestion_replied,
        when=lambda e: not e.anonymous and e.member_id is not None,
    ),
    # Festival welfare (welfare.entitlement): one entitlement per member, so the member alone.
    NotifyRoute(
        EntitlementCreated,
        Audience.member,
        "entitlement_created",
        (INBOX, WECOM),
        Category.welfare,
        _entitlement,
    ),
    NotifyRoute(
        EntitlementIssued,
        Audience.member,
        "entitlement_issued",
        (INBOX, WECOM),
        Category.welfare,
        _entitlement,
    ),
    NotifyRoute(
        ExamBooked, Audience.member, "exam_booked", (INBOX, WECOM), Category.welfare, _exam
    ),
    # 提醒未预约者: a cadre's press, at most once a plan and day (welfare's claim); the members
    # the event lists who are still reachable, on the channels they keep for reminders.
    NotifyRoute(
        ExamBookingReminderRequested,
        Audience.listed,
        "exam_not_booked",
        (INBOX, WECOM),
        Category.reminder,
        _exam_not_booked,
    ),
    # Condolences (welfare.case) and birthdays: the member alone. A case for a member who has
    # died is for the family: the cadres bring it in person, nobody messages the member.
    NotifyRoute(
        CaseApproved,
        Audience.member,
        "case_approved",
        (INBOX, WECOM),
        Category.welfare,
        _case_approved,
        when=lambda e: e.kind != CaseKind.death_member.value,
    ),
    NotifyRoute(
        BirthdayBenefitOffered,
        Audience.member,
        "birthday_offered",
        (INBOX, WECOM),
        Category.welfare,
        _birthday,
    ),
    # Credentials: e-mail only, never the inbox (whoever reads it is signed in already), and
    # never optional (the member asked for it).
    NotifyRoute(
        LoginLinkRequestedV2,
        Audience.member,
        "login_link",
        (EMAIL,),
        Category.account,
        _account,
        mandatory=True,
    ),
    NotifyRoute(
        EmailChangeRequested,
        Audience.address,
        "email_confirm",
        (EMAIL,),
        Category.account,
        _account,
        mandatory=True,
    ),
    # Security notices (安全提醒): a password changed or an account locked is told to the
    # member on a channel whoever did it may not control — the e-mail on file — so that a
    # stolen session or someone guessing the password is noticed. Never optional; nothing
    # secret in them (the events carry none).
    NotifyRoute(
        PasswordChanged,
        Audience.member,
        "password_changed",
        (INBOX, EMAIL),
        Category.account,
        _security,
        mandatory=True,
    ),
    NotifyRoute(
        AccountLocked,
        Audience.member,
        "account_locked",
        (INBOX, EMAIL),
        Category.account,
        _security,
        mandatory=True,
    ),
]


def _activity_soon(r: ActivityTomorrow, _at: datetime) -> Facts:
    values = {"title": r.title, "venue": r.venue, "starts": moment(r.starts_at)}
    return Facts(r.campus, values, member_ids=r.member_ids)


def _gift_due(r: GiftChoiceDue, _at: datetime) -> Facts:
    values = {
        "festival": Festival.label_of(r.festival),
        "year": r.year,
        "deadline": moment(r.deadline),
    }
    return Facts(r.campus, values, member_ids=r.member_ids)


def _exam_tomorrow(r: ExamTomorrow, _at: datetime) -> Facts:
    return Facts(r.campus, {"day": day(r.day)}, member_id=r.member_id)


# Reminders (提醒): sent by notify on its own clock from the schedules it keeps
# (`reminders/`), never published; the member may choose their channels (category reminder).
REMINDER_ROUTES = [
    NotifyRoute(
        ActivityTomorrow,
        Audience.listed,  # confirmed registrants (not the waitlist) when it fires
        "activity_reminder_24h",
        (INBOX, WECOM),
        Category.reminder,
        _activity_soon,
    ),
    NotifyRoute(
        ActivityInAnHour,
        Audience.listed,
        "activity_reminder_1h",
        (INBOX, WECOM),
        Category.reminder,
        _activity_soon,
    ),
    NotifyRoute(
        GiftChoiceDue,
        Audience.listed,  # whose entitlement is not chosen yet when it fires
        "gift_choice_deadline",
        (INBOX, WECOM),
        Category.reminder,
        _gift_due,
    ),
    NotifyRoute(
        ExamTomorrow,
        Audience.member,
        "exam_tomorrow",
        (INBOX, WECOM),
        Category.reminder,
        _exam_tomorrow,
    ),
]

# Catalogued types nobody is told about, each with why (a conscious choice, not an oversight).
UNROUTED: dict[str, str] = {
    "events.activity.drafted.v1": "草稿只有干部可见，不通知会员",
    "events.activity.registration_closed.v1": "报名截止不单独通知（报名者已收到报名结果）",
    "events.activity.completed.v1": "活动结束无须通知",
    "events.attendance.recorded.v1": "出勤记录供福利服务使用（献血慰问），本人已在现场",
    "events.campaign.phase_changed.v1": "评选各阶段在「评选投票」页可查；结果公布时另有路由",
    "events.congress.session_changed.v1": "教代会会议安排由代表团团长通知代表，提案页可查",
    "events.nomination.nominated.v1": "推荐在评选页办理，审核结果随公示与公布公开",
    "events.nomination.reviewed.v1": "入围名单在投票页公开；未入围理由由干部当面说明",
    "events.objection.raised.v1": "异议由干部在评选页办理，不逐条推送",
    "events.objection.resolved.v1": "异议处理结果由干部直接答复提出人（异议人可能希望不留痕）",
    "events.plan.created.v1": "年度工作计划在「工作计划」页公开，不逐条推送",
    "events.plan.item_added.v1": "同上：工作要点在计划页查看",
    "events.plan.item_changed.v1": "同上：工作要点在计划页查看",
    "events.plan.item_status_changed.v1": "同上：进度在计划页查看",
    "events.resolution.decided.v1": "表决结果在教代会页公布，代表在会上已知",
    "events.resolution.opened.v1": "表决在会上进行，代表在现场",
    "events.registration.checked_in.v1": "签到时本人在现场，签到台已显示结果",
    "events.sports.meet_set_up.v1": "运动会项目随活动发布通知",
    "events.sports.results_recorded.v1": "成绩录入是过程数据，公布时另有页面",
    "events.sports.results_published.v1": "成绩在运动会页面公布，不逐人推送",
    "events.suggestion.forwarded.v1": "转交部门是干部的办理过程，写信人在意见箱页查看进度",
    "events.suggestion.submitted.v1": "意见建议在干部的意见箱列表中办理，不逐条推送",
    "events.survey.closed.v1": "问卷结束不通知；结果由干部在问卷页查看",
    "events.survey.drafted.v1": "草稿只有干部可见，不通知会员",
    "events.survey.published.v1": "受众在开始填写时由 events.survey.opened.v1 告知，避免两次",
    "members.account.login_link_requested.v1": "v1 已停用（明文链接），只读 v2",
    "members.account.password_set.v1": "本人或干部刚刚操作，页面已提示",
    "members.account.signed_in.v1": "每次登录都通知会造成打扰",
    "members.account.signed_in.v2": "同上（v2 另含企业微信登录）",
    "members.account.unlocked.v1": "由干部当面或电话告知",
    "members.campus.changed.v1": "组织机构数据，不涉及个人",
    "members.childcare.round_opened.v1": "入园入托统计由干部线下通知相关会员（暂无受众投影）",
    "members.childcare.round_closed.v1": "同上",
    "members.contact.changed.v1": "通知服务自己的联系方式投影，不是消息",
    "members.contact.erased.v1": "通知服务自己的联系方式投影（删除）",
    "members.dues.paid.v1": "会费在「我的会费」页查看，不逐笔推送",
    "members.dues.payment_reversed.v1": "冲正由经费人员处理，会费页可查",
    "members.member.deceased.v1": "不再向该会员发送任何消息；慰问由福利服务办理",
    "members.member.joined.v1": "已弃用，v2 携带相同事实（只按 v2 发欢迎消息）",
    "members.member.rejected.v1": (
        "申请人收不到：入会前不能登录（看不到站内信），联系方式入会时才发布到 members.contact，"
        "自助申请填的邮箱未经本人确认（可能不是本人的），通知服务没有可靠的地址；"
        "结果由本校区工会干部当面或电话告知"
    ),
    "members.member.retired.v1": "退休慰问由福利服务办理；会籍页可查",
    "members.member.transferred.v1": "转校区由干部办理并当面告知",
    "members.member.updated.v1": "本人或干部刚刚修改，页面已提示",
    "members.member.withdrawn.v1": "退会会员不再接收消息",
    "notify.webhook.paused.v1": "订阅创建者由 Webhook 投递进程直接在站内信告知（webhooks/handlers.py）",
    "notify.webhook.resumed.v1": "管理员刚刚在 Webhook 页恢复，页面已提示",
    "notify.webhook.secret_rotated.v1": "管理员刚刚轮换密钥，新密钥只在页面显示一次",
    "notify.webhook.subscribed.v1": "管理员刚刚创建订阅，页面已提示",
    "welfare.birthday.chosen.v1": "本人刚刚选择（或截止后默认），「我的慰问与生日福利」页可查",
    "welfare.birthday.posted.v1": "补记入账是经费管理的账务处理，会员的生日福利不因此改变",
    "welfare.case.cancelled.v1": "撤销是干部的办理过程，由干部当面说明",
    "welfare.case.declined.v1": "未获批准的原因由干部当面说明，不以消息告知",
    "welfare.case.paid.v1": "慰问金由干部当面送达；批准时已有通知",
    "welfare.case.raised.v1": "登记是干部的办理过程（本人申请时页面已提示）；批准时另有路由",
    "welfare.hardship.changed.v1": "困难职工档案只有主席和本校区干部可见，从不推送",
    "welfare.visit.recorded.v1": "走访时本人在场；走访记录不外传",
    "welfare.entitlement.chosen.v1": "本人刚刚选择（或截止后默认），「我的福利」页可查；选礼提醒不再发给本人",
    "welfare.entitlement.received.v1": "本人刚刚签收，页面已提示",
    "welfare.entitlement.voided.v1": "资格因退会作废，退会会员不再接收消息",
    "welfare.exam.cancelled.v1": "取消由本人或干部当场办理，体检预约页可查；体检前一天的提醒随之取消",
    "welfare.exam.completed.v1": "体检完成由医院名单导入，本人已到场",
    "welfare.exam_plan.saved.v1": "体检方案在「年度体检预约」页公布，不逐人推送",
    "welfare.ledger.block_sealed.v1": "封存是台账核验的锚点，不是给人的消息",
    "welfare.ledger.entry_posted.v1": "记账是台账数据；预算预警另有路由",
    "welfare.mutual_aid.enrolled.v1": "参保由本人或干部当场办理，页面已提示",
    "welfare.mutual_aid_claim.changed.v1": "理赔进度在「互助保障」页查看",
    "welfare.mutual_aid_scheme.saved.v1": "险种在「互助保障」页公布，不逐人推送",
    "welfare.plan.approved.v1": "方案审批是干部的流程，不通知会员",
    "welfare.plan.closed.v1": "截止后的默认礼品在「我的福利」页可查，发放时另有通知；选礼提醒随之停止",
    "welfare.plan.created.v1": "方案草稿只有干部可见",
    "welfare.plan.published.v1": "每位会员由自己的 welfare.entitlement.created.v1 告知，避免两次；截止前24小时另有选礼提醒",
}

TABLE: RoutingTable = routing_table(ROUTES, UNROUTED, REMINDER_ROUTES)
