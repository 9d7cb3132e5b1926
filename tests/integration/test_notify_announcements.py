"""Announcements (通知公告) on the real broker and database: a notice reaches its segment's
inboxes and the channels the members' settings give (a mandatory one ignores opt-outs), the
read count follows members opening it, scope is the cadre's campuses, and a fan-out killed
half-way and resumed by two replicas leaves one inbox message and one delivery per
recipient and channel."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from services.notify.announcements.domain import Announcement, Segment
from services.notify.announcements.fanout import AnnouncementFanout
from services.notify.delivery.store import Deliveries
from services.notify.delivery.worker import DeliveryWorker
from services.notify.routing.domain import ChannelName
from shared.readmodels.member_directory import MEMBER_DIRECTORY
from shared.timeutil import utcnow
from tests.integration.conftest import Stack, bearer, build_stack, close_stack

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])


class RecordingMailer:
    """SMTP as the delivery worker meets it, keeping what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        self.sent.append((to, subject, body))


MAILER = RecordingMailer()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(infra) -> AsyncIterator[Stack]:
    # The workers look once at start and then sleep: each test runs their rounds.
    over = {"announcement_poll_s": 3600, "announcement_batch": 4, "delivery_poll_s": 3600}
    s = await build_stack(infra, ["notify"], settings={"notify": over}, mailer=MAILER)
    try:
        yield s
    finally:
        await close_stack(s)


def uid(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


async def members(
    stack: Stack, campus: str, rows: Sequence[tuple[str, str, str]], email: bool = True
) -> list[str]:
    """Members notify knows (directory + contact): (department, gender, status) each."""
    ids = [uid("m-") for _ in rows]
    db = stack.notify.db
    await db[MEMBER_DIRECTORY].insert_many(
        [
            {
                "_id": mid,
                "staff_no": mid,
                "name": f"会员{i}",
                "campus": campus,
                "department": dept,
                "gender": gender,
                "status": status,
                "roles": [],
                "sequence": "0000000001.000",
            }
            for i, (mid, (dept, gender, status)) in enumerate(zip(ids, rows, strict=True))
        ]
    )
    if email:
        await db["contacts"].insert_many(
            [
                {"_id": mid, "name": "会员", "campus": campus, "email": f"{mid}@school.local"}
                for mid in ids
            ]
        )
    return ids


async def post(stack: Stack, headers: dict[str, str], **over: Any) -> dict[str, Any]:
    body = {"campus": "main", "title": "关于春季健步走的通知", "body": "请按时参加。", **over}
    got = await stack.notify_http.post("/announcements", json=body, headers=headers)
    assert got.status_code == 201, got.text
    return got.json()


async def fan_out(stack: Stack) -> None:
    await stack.notify.context.announcement_fanout.run_once()


async def by_member(stack: Stack, announcement_id: str) -> Counter[tuple[str, str]]:
    docs = await stack.notify.db["deliveries"].find({"event_id": announcement_id}).to_list()
    return Counter((d["member_id"], d["channel"]) for d in docs)


async def inbox_of(stack: Stack, announcement_id: str) -> Counter[str]:
    query = {"_id": {"$regex": f"^{announcement_id}:"}}
    return Counter(d["member_id"] for d in await stack.notify.db["inbox"].find(query).to_list())


async def detail(stack: Stack, announcement_id: str, headers: dict[str, str]) -> dict[str, Any]:
    got = await stack.notify_http.get(f"/announcements/{announcement_id}", headers=headers)
    assert got.status_code == 200, got.text
    return got.json()


async def test_a_notice_reaches_its_segment_on_the_channels_members_chose(stack: Stack):
    campus = uid("c")
    cadre = bearer("cadre-x", ["cadre"], [campus])
    art, art_m, maths, gone = await members(
        stack,
        campus,
        [
            ("艺术系", "female", "active"),
            ("艺术系", "male", "active"),
            ("数学系", "female", "active"),
            ("艺术系", "female", "withdrawn"),
        ],
    )
    [elsewhere] = await members(stack, uid("e"), [("艺术系", "female", "active")])
    # art_m wants notices in the inbox only.
    prefs = {"channels": {"announcement": ["inbox"]}, "quiet_hours": {"enabled": False}}
    saved = await stack.notify_http.put(
        "/me/notification-settings", json=prefs, headers=stack.member_headers(art_m, campus)
    )
    assert saved.status_code == 200, saved.text

    preview = await stack.notify_http.post(
        "/announcement-previews",
        json={"campus": campus, "title": " 标题 ", "body": "正文", "departments": ["艺术系"]},
        headers=cadre,
    )
    assert preview.status_code == 200, preview.text
    assert preview.json()["recipients"] == 2 and preview.json()["title"] == "标题"
    assert preview.json()["segment"]["label"] == "部门：艺术系"
    assert preview.json()["campus_wordings"] == [], "no campus has its own wording"
    listed = await stack.notify_http.get("/announcements", headers=cadre)
    assert listed.json() == [], "a preview posts nothing"

    made = await post(stack, cadre, campus=campus, departments=["艺术系"])
    assert made["state"] == "sending" and made["segment"]["label"] == "部门：艺术系"
    await fan_out(stack)
    got = await by_member(stack, made["id"])
    assert got == Counter({(art, "inbox"): 1, (art, "email"): 1, (art_m, "inbox"): 1}), (
        "艺术系 active members only; art_m turned e-mail off for notices"
    )
    assert maths not in await inbox_of(stack, made["id"])
    assert gone not in await inbox_of(stack, made["id"])
    assert elsewhere not in await inbox_of(stack, made["id"])
    inbox = await stack.notify_http.get("/inbox", headers=stack.member_headers(art, campus))
    [message] = [m for m in inbox.json() if m["id"] == f"{made['id']}:{art}"]
    assert (message["title"], message["body"], message["read"]) == (
        "关于春季健步走的通知",
        "请按时参加。",
        False,
    )
    shown = await detail(stack, made["id"], cadre)
    assert shown["state"] == "sent"
    assert (shown["delivered"], shown["read"]) == (2, 0)
    assert shown["departments"] == [{"key": "艺术系", "delivered": 2, "read": 0}]
    assert shown["campuses"] == [{"key": campus, "delivered": 2, "read": 0}]
    unread = await stack.notify_http.get(f"/announcements/{made['id']}/unread", headers=cadre)
    assert unread.status_code == 409 and unread.json()["code"] == "announcement.not_mandatory"
    # The e-mail goes out through the delivery worker, in the template's words.
    [worker] = [w for w in stack.notify.workers if isinstance(w, DeliveryWorker)]
    await worker.run_once()
    [mail] = [m for m in MAILER.sent if m[0] == f"{art}@school.local"]
    assert mail[1] == "关于春季健步走的通知"
    assert mail[2].startswith("会员0，您好！") and "请按时参加。" in mail[2]
    sent = await stack.notify.db["deliveries"].find_one({"_id": f"{made['id']}:{art}:email"})
    assert sent is not None and sent["status"] == "sent"


async def test_a_mandatory_notice_ignores_opt_outs_and_its_readers_are_counted(stack: Stack):
    campus = uid("c")
    cadre = bearer("cadre-y", ["cadre"], [campus])
    first, second, third = await members(
        stack,
        campus,
        [
            ("艺术系", "female", "active"),
            ("艺术系", "male", "active"),
            ("数学系", "male", "active"),
        ],
    )
    prefs = {"channels": {"announcement": []}, "quiet_hours": {"enabled": False}}
    saved = await stack.notify_http.put(
        "/me/notification-settings", json=prefs, headers=stack.member_headers(second, campus)
    )
    assert saved.status_code == 200, saved.text
    made = await post(stack, cadre, campus=campus, mandatory=True, gender="male")
    await fan_out(stack)
    got = await by_member(stack, made["id"])
    assert got == Counter(
        {(second, "inbox"): 1, (second, "email"): 1, (third, "inbox"): 1, (third, "email"): 1}
    ), "men only; mandatory: second's opt-out does not apply"
    assert first not in await inbox_of(stack, made["id"])

    opened = await stack.notify_http.patch(
        f"/inbox/{made['id']}:{second}/read", headers=stack.member_headers(second, campus)
    )
    assert opened.status_code == 200, opened.text
    shown = await detail(stack, made["id"], cadre)
    assert (shown["delivered"], shown["read"]) == (2, 1)
    assert {d["key"]: d["read"] for d in shown["departments"]} == {"艺术系": 1, "数学系": 0}
    unread = await stack.notify_http.get(f"/announcements/{made['id']}/unread", headers=cadre)
    assert unread.status_code == 200, unread.text
    assert [(u["member_id"], u["department"]) for u in unread.json()] == [(third, "数学系")]


async def test_a_cadre_posts_and_reads_only_on_their_own_campuses(stack: Stack):
    campus, other = uid("c"), uid("o")
    await members(stack, campus, [("艺术系", "female", "active")])
    cadre, stranger = (
        bearer("cadre-z", ["cadre"], [campus]),
        bearer("cadre-o", ["cadre"], [other]),
    )
    refused = await stack.notify_http.post(
        "/announcements", json={"campus": campus, "title": "t", "body": "b"}, headers=stranger
    )
    assert refused.status_code == 403
    school = await stack.notify_http.post(
        "/announcements", json={"campus": "*", "title": "t", "body": "b"}, headers=cadre
    )
    assert school.status_code == 403, "the whole school: only a caller over every campus"
    member = await stack.notify_http.post(
        "/announcements",
        json={"campus": campus, "title": "t", "body": "b"},
        headers=stack.member_headers("m-1", campus),
    )
    assert member.status_code == 403
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    expired = await stack.notify_http.post(
        "/announcements",
        json={"campus": campus, "title": "t", "body": "b", "expires_at": past},
        headers=cadre,
    )
    assert expired.status_code == 422 and expired.json()["code"] == "announcement.expired"
    blank = await stack.notify_http.post(
        "/announcements", json={"campus": campus, "title": "t", "body": " \n "}, headers=cadre
    )
    assert blank.status_code == 422 and blank.json()["code"] == "announcement.empty"

    made = await post(stack, cadre, campus=campus)
    hidden = await stack.notify_http.get(f"/announcements/{made['id']}", headers=stranger)
    assert hidden.status_code == 404
    assert made["id"] not in [
        a["id"] for a in (await stack.notify_http.get("/announcements", headers=stranger)).json()
    ]
    assert made["id"] in [
        a["id"] for a in (await stack.notify_http.get("/announcements", headers=ADMIN)).json()
    ]


async def test_a_notice_is_worded_as_each_recipients_campus_words_it(stack: Stack):
    west, east = uid("w"), uid("e")
    dept = uid("系")  # only this test's members are in it: the whole school reaches them alone
    [westerner] = await members(stack, west, [(dept, "female", "active")])
    [easterner] = await members(stack, east, [(dept, "male", "active")])
    wording = {
        "title": "【西区工会】{{ title }}",
        "body": "{{ name }}老师：\n\n{{ body }}\n\n西校区工会",
    }
    saved = await stack.notify_http.put(
        f"/templates/announcement/campuses/{west}", json=wording, headers=ADMIN
    )
    assert saved.status_code == 200, saved.text
    preview = await stack.notify_http.post(
        "/announcement-previews",
        json={"campus": "*", "title": "关于春季健步走的通知", "body": "请按时参加。"},
        headers=ADMIN,
    )
    assert preview.json()["campus_wordings"] == [
        {
            "campus": west,
            "title": "【西区工会】关于春季健步走的通知",
            "body": "张三老师：\n\n请按时参加。\n\n西校区工会",
        }
    ], "the cadre sees how the west campus's members will read it"
    east_only = {"campus": east, "title": "标题", "body": "正文"}
    preview = await stack.notify_http.post("/announcement-previews", json=east_only, headers=ADMIN)
    assert preview.json()["campus_wordings"] == [], "the west wording is not the east's"

    made = await post(stack, ADMIN, campus="*", departments=[dept], mandatory=True)
    await fan_out(stack)
    assert await inbox_of(stack, made["id"]) == Counter({westerner: 1, easterner: 1})

    async def message(member: str, campus: str) -> tuple[str, str]:
        got = await stack.notify_http.get("/inbox", headers=stack.member_headers(member, campus))
        [found] = [m for m in got.json() if m["id"] == f"{made['id']}:{member}"]
        return found["title"], found["body"]

    assert await message(westerner, west) == (
        "【西区工会】关于春季健步走的通知",
        "会员0老师：\n\n请按时参加。\n\n西校区工会",
    ), "the west campus's own wording"
    assert await message(easterner, east) == ("关于春季健步走的通知", "请按时参加。"), (
        "no wording of its own: the notice's text as written"
    )
    # The e-mails say the same (the delivery worker picks each campus's wording too).
    [worker] = [w for w in stack.notify.workers if isinstance(w, DeliveryWorker)]
    await worker.run_once()
    mails = {m[0]: m for m in MAILER.sent}
    west_mail, east_mail = mails[f"{westerner}@school.local"], mails[f"{easterner}@school.local"]
    assert west_mail[1] == "【西区工会】关于春季健步走的通知" and "西校区工会" in west_mail[2]
    assert east_mail[1] == "关于春季健步走的通知" and "西校区工会" not in east_mail[2]


class KilledMidBatch(Deliveries):
    """The process dies after the n-th delivery insert (inbox messages of that batch are in,
    their deliveries are not)."""

    def __init__(self, inner: Deliveries, after: int) -> None:
        self.coll, self.attempts, self.left = inner.coll, inner.attempts, after

    async def add_many(self, docs: Any) -> Any:
        if self.left == 0:
            raise RuntimeError("killed")
        self.left -= 1
        return await super().add_many(docs)


def replica(stack: Stack, deliveries: Deliveries | None = None) -> AnnouncementFanout:
    ctx = stack.notify.context
    f = ctx.announcement_fanout
    return AnnouncementFanout(
        stack.notify.db,
        ctx.announcements,
        f.inbox,
        deliveries or ctx.deliveries,
        ctx.preferences,
        f.contacts,
        ctx.templates,
        frozenset({ChannelName.inbox, ChannelName.email}),
        batch=3,
    )


async def test_a_fan_out_killed_half_way_and_resumed_by_two_replicas_delivers_once(
    stack: Stack,
):
    campus = uid("c")
    rows = [("艺术系" if i % 3 else "数学系", "female", "active") for i in range(20)]
    ids = await members(stack, campus, rows)
    wanted = {m for m, r in zip(ids, rows, strict=True) if r[0] == "艺术系"}
    made = Announcement(
        id=f"ann-{uuid.uuid4().hex[:12]}",
        campus=campus,
        title="强制通知",
        body="请阅读",
        segment=Segment(departments=("艺术系",)),
        mandatory=True,
        expires_at=None,
        posted_by="cadre-1",
        posted_at=datetime.now(UTC),
    )
    ctx = stack.notify.context
    await ctx.announcements.add(made)
    # Two batches go through; the third dies between its inbox messages and deliveries
    # (each batch inserts inbox deliveries, then e-mail deliveries: 5 inserts done).
    dying = replica(stack, KilledMidBatch(ctx.deliveries, after=5))
    with pytest.raises(RuntimeError, match="killed"):
        await dying.fan_out(made)
    stored = await ctx.announcements.get(made.id)
    assert stored is not None and stored["state"] == "sending" and stored["through"]
    half = await inbox_of(stack, made.id)
    assert 0 < len(half) < len(wanted)
    # Two replicas take it up at once, and a replay from the start follows.
    await asyncio.gather(replica(stack).run_once(), replica(stack).run_once())
    assert await replica(stack).fan_out(made) == 0, "a replay creates nothing"

    inbox = await inbox_of(stack, made.id)
    assert inbox == Counter(dict.fromkeys(wanted, 1))
    got = await by_member(stack, made.id)
    expected = {(m, c): 1 for m in wanted for c in ("inbox", "email")}
    assert got == Counter(expected), "one delivery per recipient and channel"
    stored = await ctx.announcements.get(made.id)
    assert stored is not None and stored["state"] == "sent"
    shown = await detail(stack, made.id, bearer("cadre-k", ["cadre"], [campus]))
    assert (shown["delivered"], shown["read"]) == (len(wanted), 0)


async def test_an_expired_notice_reaches_nobody_new(stack: Stack):
    campus = uid("c")
    await members(stack, campus, [("艺术系", "female", "active")] * 3)
    made = Announcement(
        id=f"ann-{uuid.uuid4().hex[:12]}",
        campus=campus,
        title="已过期",
        body="正文",
        segment=Segment(),
        mandatory=False,
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
        posted_by="cadre-1",
        posted_at=datetime.now(UTC) - timedelta(hours=1),
    )
    ctx = stack.notify.context
    await ctx.announcements.add(made)
    assert await replica(stack).fan_out(made) == 0
    assert await inbox_of(stack, made.id) == Counter()
    stored = await ctx.announcements.get(made.id)
    assert stored is not None and stored["state"] == "expired"
