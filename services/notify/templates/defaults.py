"""The zh-CN default template of every route, with the values each may use and sample data
for the preview (the sample's keys are the variables a template may name)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DefaultTemplate:
    label: str
    title: str
    body: str
    sample: Mapping[str, Any]

    @property
    def variables(self) -> list[str]:
        return sorted(self.sample)


_ACTIVITY = {
    "name": "张颖",
    "title": "春季踏青",
    "kind_label": "春游秋游",
    "venue": "植物园",
    "starts": "4月12日 09:00",
    "ends": "4月12日 16:00",
    "signup_closes": "4月10日 18:00",
}
_SURVEY = {
    "name": "张颖",
    "title": "暑期教工活动意见征集",
    "opens": "6月1日 08:00",
    "closes": "6月15日 18:00",
    "questions": 8,
    "anonymous": True,
}
_REGISTRATION = {"name": "张颖", "activity_title": "春季踏青", "guests": 1, "waitlist_no": 3}

DEFAULTS: dict[str, DefaultTemplate] = {
    "announcement": DefaultTemplate(
        "通知公告",
        "{{ title }}",
        "{{ name }}，您好！\n\n{{ body }}",
        {
            "name": "张颖",
            "title": "关于开展春季健步走活动的通知",
            "body": "请各分工会做好组织工作。",
        },
    ),
    "welcome": DefaultTemplate(
        "入会欢迎",
        "欢迎加入学校工会",
        "{{ name }}，您好！您已于{{ joined_on }}成为学校工会会员。"
        "今后的活动报名、节日福利、慰问和通知都会在这里告诉您。",
        {"name": "张颖", "joined_on": "2026年9月1日"},
    ),
    "member_applied": DefaultTemplate(
        "入会申请待审批",
        "入会申请待审批：{{ applicant }}",
        "{{ name }}，您好！{{ department }}的{{ applicant }}于{{ applied_on }}提交了入会申请，"
        "请在工会管理台「会员」中审批。",
        {"name": "高萍", "applicant": "王芳", "department": "艺术系", "applied_on": "2026年3月2日"},
    ),
    "registration_confirmed": DefaultTemplate(
        "报名成功",
        "报名成功：{{ activity_title }}",
        "{{ name }}，您好！您已成功报名「{{ activity_title }}」"
        "{% if guests %}，携带家属{{ guests }}人{% endif %}。活动当天请出示签到二维码。",
        _REGISTRATION,
    ),
    "registration_waitlisted": DefaultTemplate(
        "进入候补",
        "已进入候补：{{ activity_title }}",
        "{{ name }}，您好！「{{ activity_title }}」名额已满，您已进入候补，候补号第"
        "{{ waitlist_no }}位。有名额空出时将按顺序自动转正并通知您。",
        _REGISTRATION,
    ),
    "registration_promoted": DefaultTemplate(
        "候补转正",
        "候补转正：{{ activity_title }}",
        "{{ name }}，您好！好消息：「{{ activity_title }}」有名额空出，您的候补已转正，报名成功。"
        "如不能参加，请及时取消报名，把名额留给其他老师。",
        _REGISTRATION,
    ),
    "registration_cancelled": DefaultTemplate(
        "报名已取消",
        "报名已取消：{{ activity_title }}",
        "{{ name }}，您好！您在「{{ activity_title }}」的报名已取消（{{ reason }}）。",
        {**_REGISTRATION, "reason": "本人取消"},
    ),
    "activity_published": DefaultTemplate(
        "活动发布",
        "新活动：{{ title }}",
        "{{ name }}，您好！工会发布了新活动「{{ title }}」（{{ kind_label }}）。"
        "时间：{{ starts }}，地点：{{ venue }}。"
        "{% if signup_closes %}报名截止：{{ signup_closes }}。{% endif %}欢迎报名参加。",
        _ACTIVITY,
    ),
    "activity_changed": DefaultTemplate(
        "活动变更",
        "活动变更：{{ title }}",
        "{{ name }}，您好！您报名的「{{ title }}」有变更（{{ changed }}）。"
        "现在的时间：{{ starts }}，地点：{{ venue }}。",
        {**_ACTIVITY, "changed": "时间、地点"},
    ),
    "activity_cancelled": DefaultTemplate(
        "活动取消",
        "活动取消：{{ title }}",
        "{{ name }}，您好！原定于{{ starts }}举行的「{{ title }}」已取消，原因：{{ reason }}。"
        "您的报名随之取消，给您带来不便，敬请谅解。",
        {**_ACTIVITY, "reason": "天气原因"},
    ),
    "budget_threshold": DefaultTemplate(
        "预算预警",
        "预算预警：{{ year }}年度科目{{ line }}已用{{ threshold_pct }}%",
        "{{ name }}，您好！{{ year }}年度经费科目{{ line }}已使用{{ spent }}元，"
        "占预算{{ budget }}元的{{ threshold_pct }}%以上。请关注后续支出，必要时调整预算。",
        {
            "name": "朱琳",
            "year": 2026,
            "line": "501-02",
            "threshold_pct": 90,
            "budget": "20,000.00",
            "spent": "18,200.00",
        },
    ),
    "survey_opened": DefaultTemplate(
        "问卷开始填写",
        "问卷邀请：{{ title }}",
        "{{ name }}，您好！工会问卷「{{ title }}」已开始填写{% if anonymous %}（匿名）{% endif %}，"
        "共{{ questions }}题，{{ closes }}截止。请在「我的 › 问卷与意见征集」中填写，"
        "您的意见对工会很重要。",
        _SURVEY,
    ),
    "survey_closing_soon": DefaultTemplate(
        "问卷即将截止",
        "问卷即将截止：{{ title }}",
        "{{ name }}，您好！工会问卷「{{ title }}」将于{{ closes }}截止。"
        "如您还没有填写，请抓紧时间；已经填写的请忽略本消息。",
        _SURVEY,
    ),
    "entitlement_created": DefaultTemplate(
        "节日福利待选择",
        "{{ year }}年节日福利：请选择礼品",
        "{{ name }}，您好！工会发放{{ year }}年节日福利，您有一份标准{{ standard }}元的福利。"
        "请在「我的 › 我的福利」中按时选择礼品，逾期未选将发放默认礼品。",
        {"name": "张颖", "year": 2026, "standard": "300.00"},
    ),
    "entitlement_issued": DefaultTemplate(
        "节日福利已发放",
        "{{ year }}年节日福利已发放",
        "{{ name }}，您好！您的{{ year }}年节日福利（价值{{ amount }}元）已发放，"
        "领取后请在「我的 › 我的福利」中确认签收。",
        {"name": "张颖", "year": 2026, "amount": "298.00"},
    ),
    "campaign_result": DefaultTemplate(
        "评选结果公布",
        "评选结果公布：{{ title }}",
        "{{ name }}，您好！工会「{{ title }}」经公示，结果已公布，共{{ elected }}人获评。"
        "名单请在「我的 › 评选投票与教代会提案」中查看。",
        {"name": "张颖", "title": "2026年度师德标兵评选", "elected": 6},
    ),
    "proposal_replied": DefaultTemplate(
        "提案已答复",
        "提案已答复：第{{ number }}号",
        "{{ name }}，您好！您提交的第{{ number }}号提案已由{{ department }}答复。"
        "请在「我的 › 评选投票与教代会提案」中查看答复，并对办理结果作出评价。",
        {"name": "张颖", "number": 12, "department": "后勤处"},
    ),
    "suggestion_replied": DefaultTemplate(
        "意见建议已答复",
        "意见建议已答复：{{ title }}",
        "{{ name }}，您好！您提出的意见建议「{{ title }}」已有答复，"
        "请在「我的 › 意见箱」中查看。感谢您对工会工作的关心！",
        {"name": "张颖", "title": "建议延长图书馆开放时间"},
    ),
    "case_approved": DefaultTemplate(
        "慰问已批准",
        "工会慰问：{{ kind_label }}",
        "{{ name }}，您好！工会为您办理的{{ kind_label }}已经批准，慰问金{{ amount }}元，"
        "将由工会干部送达。工会与您同在，如有困难请随时联系本校区工会。",
        {"name": "张颖", "kind_label": "生病住院慰问", "amount": "500.00"},
    ),
    "birthday_offered": DefaultTemplate(
        "生日福利待选择",
        "生日快乐：{{ month }}月生日福利",
        "{{ name }}，您好！祝您生日快乐，工会为您准备了一份价值{{ amount }}元的生日福利，"
        "请在{{ choose_by }}前到「我的 › 我的慰问与生日福利」中选择，逾期将发放默认礼品。",
        {"name": "张颖", "month": 3, "amount": "200.00", "choose_by": "2027年3月20日"},
    ),
    "exam_booked": DefaultTemplate(
        "体检预约成功",
        "体检预约成功：{{ day }}",
        "{{ name }}，您好！您{% if moved %}已改约到{% else %}已预约了{% endif %}{{ day }}的年度体检。"
        "请按时前往，体检前一晚十点后请禁食；如需改约或取消，请在「我的 › 年度体检预约」中办理。",
        {"name": "张颖", "day": "2026年3月10日", "moved": False},
    ),
    "exam_not_booked": DefaultTemplate(
        "体检预约提醒",
        "请预约{{ year }}年度体检",
        "{{ name }}，您好！「{{ title }}」正在预约，您还没有预约体检。体检时段安排至{{ last_day }}，"
        "请尽早在「我的 › 年度体检预约」中选择时段和套餐。",
        {"name": "张颖", "title": "2026年度教职工体检", "year": 2026, "last_day": "2026年6月30日"},
    ),
    # Reminders (提醒), sent on notify's own clock (routing/table.py REMINDER_ROUTES).
    "activity_reminder_24h": DefaultTemplate(
        "活动前一天提醒",
        "活动提醒：{{ title }}",
        "{{ name }}，您好！您报名的「{{ title }}」将于{{ starts }}在{{ venue }}开始，请合理安排时间。"
        "如不能参加，请在「我的报名」中取消，把名额留给其他老师。",
        {"name": "张颖", "title": "春季踏青", "venue": "植物园", "starts": "4月12日 09:00"},
    ),
    "activity_reminder_1h": DefaultTemplate(
        "活动开始前1小时提醒",
        "活动即将开始：{{ title }}",
        "{{ name }}，您好！您报名的「{{ title }}」将于{{ starts }}开始，地点：{{ venue }}。"
        "签到时请出示签到二维码。",
        {"name": "张颖", "title": "春季踏青", "venue": "植物园", "starts": "4月12日 09:00"},
    ),
    "gift_choice_deadline": DefaultTemplate(
        "选礼截止提醒",
        "{{ year }}年{{ festival }}福利选择即将截止",
        "{{ name }}，您好！工会{{ year }}年{{ festival }}福利的礼品选择将于{{ deadline }}截止，"
        "您还没有选择。请在「我的 › 我的福利」中选择，逾期将发放默认礼品。",
        {"name": "张颖", "festival": "中秋", "year": 2026, "deadline": "9月20日 18:00"},
    ),
    "exam_tomorrow": DefaultTemplate(
        "体检前一天提醒",
        "明天体检：{{ day }}",
        "{{ name }}，您好！您预约的年度体检在明天（{{ day }}）。体检前一晚十点后请禁食，"
        "请按时前往；如需改约或取消，请在「我的 › 年度体检预约」中办理。",
        {"name": "张颖", "day": "2026年3月10日"},
    ),
    "login_link": DefaultTemplate(
        "登录链接",
        "工会平台登录链接",
        "{{ name }}，您好！您申请了工会平台的一次性登录链接：\n\n{{ url }}\n\n"
        "链接只能使用一次，{{ expires }}（北京时间）前有效。登录后可设置新密码。"
        "如果不是您本人申请，请忽略本邮件，您的账号不受影响。",
        {"name": "张颖", "url": "https://gonghui.example/login/link/abc", "expires": "10:30"},
    ),
    "email_confirm": DefaultTemplate(
        "确认新邮箱",
        "请确认您在工会平台的新邮箱",
        "{{ name }}，您好！工会平台上您的邮箱被改为本地址。请先登录工会平台，"
        "再打开下面的链接确认：\n\n{{ url }}\n\n"
        "链接只能使用一次，{{ expires }}（北京时间）前有效。确认之前，"
        "登录链接和通知仍只发往原来的邮箱。如果不是您本人的邮箱，请忽略本邮件。",
        {
            "name": "张颖",
            "url": "https://gonghui.example/me/email/abc",
            "expires": "12月05日 10:30",
        },
    ),
    "email_changing": DefaultTemplate(
        "邮箱更改提醒",
        "您在工会平台的邮箱正在更改",
        "{{ name }}，您好！有人把您在工会平台的邮箱改为 {{ masked_to }}，"
        "该地址须由您本人登录后确认才会生效。如果不是您本人的操作，请联系所在校区的工会干部。",
        {"name": "张颖", "masked_to": "z***@example.com"},
    ),
    # Security notices (安全提醒): when, and what to do if it was not the member; never a link
    # (a notice that asks for a click is what a phishing mail looks like), nor anything secret.
    "password_changed": DefaultTemplate(
        "密码修改提醒",
        "您的工会平台登录密码已修改",
        "{{ name }}，您好！您在工会平台的登录密码已于{{ at }}（北京时间）修改。"
        "如果是您本人修改的，请忽略本消息。\n\n"
        "如非本人操作，您的账号可能已被他人使用：请立即在工会平台登录页点「忘记密码」，"
        "用发到您登记邮箱的一次性登录链接登录并重新设置密码，同时联系本校区工会。",
        {"name": "张颖", "at": "4月12日 09:00"},
    ),
    "account_locked": DefaultTemplate(
        "账号锁定提醒",
        "您的工会平台账号已暂时锁定",
        "{{ name }}，您好！您的工会平台账号于{{ at }}（北京时间）因连续多次输错密码被暂时锁定，"
        "{{ until }}（北京时间）后自动解锁，也可以请本校区工会干部提前解锁。\n\n"
        "如非本人操作，可能有人在尝试猜测您的密码：请解锁后登录工会平台，"
        "在「我的资料」中点「修改密码」，改为他人难以猜到的新密码，同时联系本校区工会。",
        {"name": "张颖", "at": "4月12日 09:00", "until": "4月12日 09:15"},
    ),
}
