"""No credential rests anywhere in clear, on the real broker and database.

A member signs in through web (a password set by a cadre, then chosen), asks for a login link
and redeems it; then an outside system reads every topic from the beginning, and an operator
dumps every database. Neither finds a token, a password or a link, and what is stored does
not work against the API. Sealed personal data is bound to its member; data sealed in the
first format is re-sealed on start.
"""

from __future__ import annotations

import base64
import json
import mailbox
import os
import re
import uuid
from collections.abc import AsyncIterator
from email.header import decode_header, make_header
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.web.bootstrap import bootstrap as web_bootstrap
from services.web.sessions import SESSIONS, Sessions
from services.web.settings import WebSettings
from services.web.uploads import UPLOADS
from shared.crypto import PREFIX, UNBOUND, Sealer, SealError
from shared.reseal import DONE, ResealOnStart
from shared.settings import DEV_DATA_KEY, DEV_WEB_KEY
from shared.timeutil import utcnow
from tests.integration.conftest import Stack, bearer, replica_of, settings_for
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

ADMIN = bearer("admin-1", ["admin"], ["*"])
INITIAL = "Chushi-Mima-2026"
CHOSEN = "wo-de-xin-mima-9"
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def stack(module_stack: Stack) -> Stack:
    return module_stack


@pytest.fixture
async def web(stack: Stack) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """web in-process on its own database, calling members and notify in-process."""
    # A small upload bound, so the tests send little.
    settings = settings_for(WebSettings, stack.infra, stack.prefix, upload_max_bytes=4096)
    app = web_bootstrap(
        settings,
        configure_logs=False,
        transports={
            "members": httpx.ASGITransport(app=stack.members.app),
            "notify": httpx.ASGITransport(app=stack.notify.app),
        },
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web")
    try:
        yield app, client
    finally:
        await client.aclose()
        web_state = app.state.web
        await web_state.sessions.coll.database.client.drop_database(settings.mongo_db)
        await web_state.backend.close()


async def enrol(stack: Stack, staff_no: str, **over: Any) -> dict:
    body = {"staff_no": staff_no, "name": "王芳", "campus": "main", "department": "艺术系", **over}
    response = await stack.members_http.post("/members", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def csrf_of(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    match = CSRF.search(page.text)
    assert match, page.text[:500]
    return match.group(1)


def login_link_in_mail(maildir: str, to: str) -> str | None:
    for message in mailbox.Maildir(maildir):
        subject = str(make_header(decode_header(message["Subject"])))
        if message["To"] == to and subject == "工会平台登录链接":
            # The plain-text part (notify sends text and HTML alternatives).
            [text] = [p for p in message.walk() if p.get_content_type() == "text/plain"]
            payload = text.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found = re.search(r"/login/link#token=([A-Za-z0-9_\-]+)", payload.decode())
            if found:
                return found.group(1)
    return None


async def every_record(bootstrap: str, prefix: str) -> list[bytes]:
    """What an outside system sees: a fresh consumer group from the earliest offset, on every
    topic of this platform (keys, values and headers as raw bytes)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=f"outside-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        assert f"{prefix}members.account" in topics
        consumer.subscribe(topics)
        raw: list[bytes] = []
        while batch := await consumer.getmany(timeout_ms=4000):
            for records in batch.values():
                for r in records:
                    raw.append(r.key or b"")
                    raw.append(r.value or b"")
                    raw.extend(v for _, v in r.headers or ())
        return raw
    finally:
        await consumer.stop()


async def dump(db: Any) -> list[dict]:
    """Every document of a database, as an operator's backup would have it."""
    docs = []
    for name in await db.list_collection_names():
        docs.extend(await db[name].find({}).to_list())
    return docs


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


async def test_an_outside_consumer_and_a_database_dump_find_no_credential(stack: Stack, web):
    if not stack.infra.maildir:
        pytest.skip("the SMTP server in use keeps no Maildir")
    app, browser = web
    email = f"cred{uuid.uuid4().hex[:6]}@school.local"
    member = await enrol(stack, "CR001", email=email, id_number="110101199003070018")
    mid = member["id"]
    # A cadre sets the first password; the member signs in through web and chooses their own.
    set_by_cadre = await stack.members_http.put(
        f"/members/{mid}/password", json={"password": INITIAL}, headers=ADMIN
    )
    assert set_by_cadre.status_code == 200, set_by_cadre.text
    csrf = await csrf_of(browser, "/login")
    first = await browser.post(
        "/login", data={"staff_no": "CR001", "password": INITIAL, "next": "/m", "csrf": csrf}
    )
    assert first.status_code == 303 and first.headers["location"] == "/login/password"
    csrf = await csrf_of(browser, "/login/password")
    chosen = await browser.post(
        "/login/password", data={"new_password": CHOSEN, "repeat": CHOSEN, "csrf": csrf}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/m", chosen.text
    # The member forgets the password: a link, mailed by notify, redeemed once.
    asked = await stack.members_http.post("/auth/login-link", json={"staff_no": "CR001"})
    assert asked.status_code == 202
    found: dict[str, str] = {}

    async def mailed() -> bool:
        token = login_link_in_mail(stack.infra.maildir, email)
        if token:
            found["token"] = token
        return token is not None

    await wait_until(mailed, 45, "the login link e-mail")
    link_token = found["token"]
    redeemed = (
        await stack.members_http.post("/auth/login-link/redeem", json={"token": link_token})
    ).json()
    signed = (
        await stack.members_http.post("/auth/login", json={"staff_no": "CR001", "password": CHOSEN})
    ).json()
    assert signed["status"] == "ok", signed
    # Web's session (the test knows web's development key, an attacker with the dump does not).
    web_sealer = Sealer.from_file(DEV_WEB_KEY)
    web_db = app.state.web.sessions.coll.database
    [session_doc] = await web_db[SESSIONS].find({"member_id": mid}).to_list()
    web_tokens = [
        web_sealer.open(session_doc[name], SESSIONS, session_doc["_id"], name)
        for name in ("access_token", "refresh_token")
    ]
    secrets = {
        "login link token": link_token,
        "first password": INITIAL,
        "chosen password": CHOSEN,
        "link access token": redeemed["access_token"],
        "link password token": redeemed["password_token"],
        "link refresh token": redeemed["refresh_token"],
        "access token": signed["access_token"],
        "refresh token": signed["refresh_token"],
        "web access token": web_tokens[0],
        "web refresh token": web_tokens[1],
    }
    assert all(secrets.values()), secrets

    # 1. Every topic, from the beginning, as a system that subscribes from outside.
    records = await every_record(stack.bootstrap, stack.prefix)
    assert any(mid.encode() in r for r in records)  # the events are there …
    assert any(b"login_link_requested.v2" in r for r in records)
    for r in records:  # … the credentials are not
        for what, value in secrets.items():
            assert value.encode() not in r, f"{what} on a topic"
        assert b"/login/link" not in r
        assert JWT.search(r) is None, r[:300]

    # 2. Every database, as a backup would have it.
    for db in (stack.members.db, stack.notify.db, web_db):
        text = json.dumps(await dump(db), default=str)
        for what, value in secrets.items():
            assert value not in text, f"{what} in {db.name}"
        assert "/login/link#token=" not in text
        assert JWT.search(text.encode()) is None, db.name

    # 3. What is stored does not work: every string of web's sessions and of the link's
    # record, tried as a bearer token, a refresh token and a login link.
    links = await stack.members.db["login_links"].find({"member_id": mid}).to_list()
    assert links and links[0]["_id"] != link_token
    stored: set[str] = set()
    for doc in [*links, session_doc]:
        stored.update(s for s in strings_in(doc) if len(s) >= 20)
    assert any(s.startswith(PREFIX) for s in stored)  # the sealed tokens are among them
    for value in sorted(stored):
        as_bearer = await stack.members_http.get(
            f"/members/{mid}", headers={"Authorization": f"Bearer {value}"}
        )
        assert as_bearer.status_code == 401, value
        as_refresh = await stack.members_http.post("/auth/refresh", json={"refresh_token": value})
        assert as_refresh.status_code in (401, 422), value
        as_link = await stack.members_http.post("/auth/login-link/redeem", json={"token": value})
        assert as_link.status_code in (401, 422), value


async def test_a_sealed_session_token_moved_to_another_session_does_not_open(stack: Stack, web):
    app, _ = web
    sessions: Sessions = app.state.web.sessions
    mine = await sessions.create(
        sessions.new(
            member_id="m-a",
            roles=["member"],
            campuses=["main"],
            access_token="tok-a",
            refresh_token="ref-a",
        )
    )
    theirs = await sessions.create(
        sessions.new(
            member_id="m-b",
            roles=["member"],
            campuses=["main"],
            access_token="tok-b",
            refresh_token="ref-b",
        )
    )
    found = await sessions.get(mine)
    assert found is not None and found.access_token == "tok-a"
    a = await sessions.coll.find_one({"member_id": "m-a"})
    b = await sessions.coll.find_one({"member_id": "m-b"})
    assert a is not None and b is not None and "tok-a" not in json.dumps(a, default=str)
    # Someone with write access to web's database puts A's sealed tokens into B's session.
    await sessions.coll.update_one(
        {"_id": b["_id"]},
        {"$set": {"access_token": a["access_token"], "refresh_token": a["refresh_token"]}},
    )
    assert await sessions.get(theirs) is None  # not opened: the session is dropped
    assert await sessions.coll.find_one({"_id": b["_id"]}) is None


async def test_session_tokens_kept_in_clear_by_an_older_web_are_sealed_on_start(stack: Stack, web):
    app, _ = web
    sessions: Sessions = app.state.web.sessions
    old = sessions.new(member_id="m-old", roles=["member"], campuses=["main"])
    await sessions.coll.insert_one(
        {"_id": "k-old", **old.__dict__, "access_token": "clear-access", "refresh_token": "clear-r"}
    )
    assert await sessions.seal_clear_tokens() >= 1
    doc = await sessions.coll.find_one({"_id": "k-old"})
    assert doc is not None
    assert doc["access_token"].startswith(PREFIX) and doc["refresh_token"].startswith(PREFIX)
    assert sessions.sealer.open(doc["access_token"], SESSIONS, "k-old", "access_token") == (
        "clear-access"
    )


async def test_web_refuses_an_oversize_upload_and_keeps_a_checked_one_sealed(stack: Stack, web):
    app, browser = web
    # A cadre (admin) signs in through web.
    admin = await enrol(stack, "CR101", roles=["chair"])
    await stack.members_http.put(
        f"/members/{admin['id']}/password", json={"password": INITIAL}, headers=ADMIN
    )
    csrf = await csrf_of(browser, "/login")
    await browser.post(
        "/login", data={"staff_no": "CR101", "password": INITIAL, "next": "/m", "csrf": csrf}
    )
    csrf = await csrf_of(browser, "/login/password")
    done = await browser.post(
        "/login/password", data={"new_password": CHOSEN, "repeat": CHOSEN, "csrf": csrf}
    )
    assert done.status_code == 303, done.text
    csrf = await csrf_of(browser, "/admin/imports")
    big = b"staff_no,name\n" + b"T9999,x\n" * 600
    refused = await browser.post(
        "/admin/imports", data={"csrf": csrf}, files={"file": ("big.csv", big, "text/csv")}
    )
    assert refused.status_code == 413
    assert "文件超过" in refused.text and "请拆分后上传" in refused.text
    # Far larger: refused at the edge, before the form is read (declared or chunked alike).
    huge = b"T9999,x\n" * 200_000
    at_edge = await browser.post(
        "/admin/imports", data={"csrf": csrf}, files={"file": ("huge.csv", huge, "text/csv")}
    )
    assert at_edge.status_code == 413 and "上传的内容过大" in at_edge.text

    async def chunks() -> AsyncIterator[bytes]:
        yield (
            b'--zz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n"
        )
        for _ in range(200):
            yield b"T9999,x\n" * 1024

    chunked = await browser.post(
        "/admin/imports",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=zz", "x-csrf-token": csrf},
    )
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 413 and "上传的内容过大" in chunked.text
    jobs = await stack.members.db["imports"].count_documents({})
    small = "工号,姓名,校区,部门,身份证号\nCR102,李明,main,艺术系,110101199003070034\n".encode()
    checked = await browser.post(
        "/admin/imports", data={"csrf": csrf}, files={"file": ("new.csv", small, "text/csv")}
    )
    assert checked.status_code == 303, checked.text
    assert await stack.members.db["imports"].count_documents({}) == jobs + 1  # only the small
    web_db = app.state.web.sessions.coll.database
    [kept] = await web_db[UPLOADS].find({}).to_list()
    assert b"110101199003070034" not in bytes(kept["content"])
    assert bytes(kept["content"]).startswith(PREFIX.encode())
    # The check is done at members: its rows are deleted with the job's end.
    job_id = kept["_id"]

    async def ended() -> bool:
        return (
            await stack.members.db["import_steps"].find_one({"_id": f"{job_id}:done"}) is not None
        )

    await wait_until(ended, 30, "the import check to end")

    async def cleared() -> bool:  # deleted right after the end is marked, not with it
        return await stack.members.db["import_chunks"].count_documents({"job": job_id}) == 0

    await wait_until(cleared, 10, "the import's rows deleted with its end")
    # The commit sends the kept file (opened) to members and deletes it.
    committed = await browser.post(f"/admin/imports/{job_id}/commit", data={"csrf": csrf})
    assert committed.status_code == 303, committed.text
    commit_id = committed.headers["location"].rsplit("/", 1)[1]
    assert commit_id != job_id
    commit_job = await stack.members.db["imports"].find_one({"_id": commit_id})
    assert commit_job is not None and commit_job["rows"] == 1
    assert await web_db[UPLOADS].count_documents({}) == 0
    # Checked and never committed: the sweep deletes what waited longer than the keep time.
    again = await browser.post(
        "/admin/imports", data={"csrf": csrf}, files={"file": ("new.csv", small, "text/csv")}
    )
    assert again.status_code == 303, again.text
    [waiting] = await web_db[UPLOADS].find({}).to_list()
    uploads = app.state.web.uploads
    assert await uploads.sweep() == 0  # not yet
    await web_db[UPLOADS].update_one(
        {"_id": waiting["_id"]}, {"$set": {"at": utcnow() - uploads.keep - uploads.keep}}
    )
    assert await uploads.get(waiting["_id"], waiting["by"]) is None
    assert await uploads.sweep() == 1
    assert await web_db[UPLOADS].count_documents({}) == 0


def old_format(key: bytes, plaintext: str) -> str:
    """A value as the first format (`gh1:`, no associated data) sealed it."""
    nonce = os.urandom(12)
    raw = nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), None)
    return UNBOUND + base64.urlsafe_b64encode(raw).decode()


async def test_a_sealed_id_number_moved_to_another_member_does_not_open(stack: Stack):
    a = await enrol(stack, "CR201", id_number="110101199003070018")
    b = await enrol(stack, "CR202", id_number="110101199003070026")
    await in_view(stack, b["id"])
    store = _members_store(stack)
    log = stack.members.db["members_changes"]
    view = stack.members.db["members"]
    a_change = await log.find_one({"aggregate": a["id"]}, sort=[("version", -1)])
    b_change = await log.find_one({"aggregate": b["id"]}, sort=[("version", -1)])
    assert a_change is not None and b_change is not None
    sealed_a = a_change["state"]["id_number"]
    assert sealed_a.startswith(PREFIX) and "110101199003070018" not in sealed_a
    # Someone with write access to the database copies A's sealed number onto B.
    await log.update_one({"_id": b_change["_id"]}, {"$set": {"state.id_number": sealed_a}})
    await view.update_one({"_id": b["id"]}, {"$set": {"id_number": sealed_a}})
    # Read as the service reads it after a restart or on another replica (this process still
    # remembers B's true state, which is not the point here).
    store = replica_of(store)
    with pytest.raises(SealError):
        await store.get(b["id"])
    found = await store.get(a["id"])
    assert found is not None and found.id_number == "110101199003070018"


async def in_view(stack: Stack, member_id: str) -> None:
    async def there() -> bool:
        return await stack.members.db["members"].find_one({"_id": member_id}) is not None

    await wait_until(there, 20, f"{member_id} in the list view")


def _members_store(stack: Stack) -> Any:
    store = stack.members.context.members.store
    # members re-seals this very store at start
    [worker] = [w for w in stack.members.workers if isinstance(w, ResealOnStart)]
    assert store in worker.stores
    return store


async def test_values_sealed_in_the_old_format_are_re_sealed_on_start(stack: Stack):
    key = Sealer.from_file(DEV_DATA_KEY)
    raw_key = base64.b64decode(DEV_DATA_KEY.read_text().strip())
    member = await enrol(stack, "CR301", id_number="110101199003070042", salary_base_fen=812_300)
    mid = member["id"]
    await in_view(stack, mid)
    log = stack.members.db["members_changes"]
    view = stack.members.db["members"]
    # The member as an older members stored it: sealed without associated data.
    old = {
        "id_number": old_format(raw_key, "110101199003070042"),
        "salary_base_fen": old_format(raw_key, "812300"),
    }
    async for change in log.find({"aggregate": mid}):
        await log.update_one(
            {"_id": change["_id"]}, {"$set": {f"state.{k}": v for k, v in old.items()}}
        )
    await view.update_one({"_id": mid}, {"$set": old})
    store = _members_store(stack)
    before = await store.get(mid)
    assert before is not None and before.id_number == "110101199003070042"  # still opens
    # This version's first start: no marker yet (the stack's own start left one, having found
    # nothing to do), and the worker members runs at start re-seals.
    await stack.members.db[DONE].delete_many({})
    worker = next(w for w in stack.members.workers if isinstance(w, ResealOnStart))
    await worker.run()
    stored = [c["state"] async for c in log.find({"aggregate": mid})]
    stored.append(await view.find_one({"_id": mid}))
    for doc in stored:
        for name in ("id_number", "salary_base_fen"):
            assert doc[name].startswith(PREFIX), (name, doc[name])
    after = await store.get(mid)
    assert after.id_number == "110101199003070042" and after.salary_base_fen == 812_300
    # Now bound: the re-sealed number does not open on another member.
    other = await enrol(stack, "CR302")
    await in_view(stack, other["id"])
    latest = await log.find_one({"aggregate": other["id"]}, sort=[("version", -1)])
    assert latest is not None
    await log.update_one(
        {"_id": latest["_id"]}, {"$set": {"state.id_number": stored[-1]["id_number"]}}
    )
    await view.update_one({"_id": other["id"]}, {"$set": {"id_number": stored[-1]["id_number"]}})
    with pytest.raises(SealError):  # read as a restarted service or another replica reads it
        await replica_of(store).get(other["id"])
    # A later start finds the marker and does not scan again.
    assert await stack.members.db[DONE].find_one({"_id": "aad-v2:members"}) is not None
    assert key.open(stored[-1]["id_number"], "members", mid, "id_number") == "110101199003070042"
