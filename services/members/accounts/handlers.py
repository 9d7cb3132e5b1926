"""Sign-in use cases: passwords, sessions, lockout, login links. The clock is injectable.

Answers that would tell a stranger whether a staff number has an account are the same for
every staff number: a wrong password and an unknown staff number are one 401 (after the same
argon2 work and the same reads), and a login-link request is always "sent if it exists".
The lock is told only to someone who typed the right password: a wrong one on a locked
account is the plain 401 of a wrong password, so `auth.account_locked` never tells a guesser
that a staff number exists (an unknown staff number cannot be locked, a known one would
otherwise say so after five guesses). The throttles (`throttle.py`) count per staff number
as typed, so their 429 is given to unknown staff numbers alike.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from services.members.accounts.domain import (
    MAX_FAILURES,
    SIGN_IN_STATUSES,
    Account,
    FailureWindow,
    grants,
    lock_until,
    may_sign_in,
    new_account,
)
from services.members.accounts.passwords import Passwords
from services.members.accounts.store import NOT_FOUND as ACCOUNT_NOT_FOUND
from services.members.accounts.store import (
    AccountStore,
    Failures,
    LoginLinks,
    OneTime,
    Sessions,
    digest,
    new_token,
)
from services.members.accounts.throttle import Throttles, account_key
from services.members.accounts.wecom import WeComSignIn, disabled
from services.members.accounts.wecom import refused as wecom_refused
from services.members.membership.domain import Member, clean_staff_no
from services.members.membership.store import NOT_FOUND as MEMBER_NOT_FOUND
from services.members.membership.store import MemberRegistry
from shared.aggregate import Actor, AlreadyExists
from shared.audit import AuditLog
from shared.auth import Principal, mint_token
from shared.client import UNKNOWN
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events.members import LoginLinkRequestedV2
from shared.problems import ProblemError
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

PASSWORD_AUDIENCE = "gonghui-password"  # a token no route but the password change accepts
LINK_PATH = "/login/link#token="  # the web front end's page; a fragment never reaches a log
LINK_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class SignInSettings:
    private_key_file: Path
    issuer: str
    access_ttl_s: int
    refresh_ttl_s: int
    password_token_ttl_s: int
    school_campus: str


@dataclass(frozen=True)
class SignInResult:
    """What a sign-in gives: a session, or only the right to choose a password first."""

    status: Literal["ok", "password_change_required"]
    member_id: str
    roles: tuple[str, ...] = ()
    campuses: tuple[str, ...] = ()
    access_token: str | None = None
    expires_in: int | None = None
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    password_token: str | None = None
    password_token_expires_in: int | None = None


def invalid_credentials() -> ProblemError:
    return ProblemError("auth.invalid_credentials", 401, "工号或密码错误")


def locked(until: datetime | None) -> ProblemError:
    return ProblemError(
        "auth.account_locked",
        401,
        f"连续 {MAX_FAILURES} 次密码错误，账号已锁定 15 分钟；可稍后再试，或请工会干部解锁",
        locked_until=until.isoformat() if until else None,
    )


class AccountService:
    """The use cases of accounts and sign-in."""

    def __init__(
        self,
        *,
        accounts: AccountStore,
        members: MemberRegistry,
        failures: Failures,
        sessions: Sessions,
        links: LoginLinks,
        one_time: OneTime,
        passwords: Passwords,
        throttles: Throttles,
        audit: AuditLog,
        settings: SignInSettings,
        wecom: WeComSignIn | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.accounts = accounts
        self.members = members
        self.failures = failures
        self.sessions = sessions
        self.links = links
        self.one_time = one_time
        self.passwords = passwords
        self.throttles = throttles
        self.audit = audit
        self.settings = settings
        self.wecom = wecom  # None: WeCom sign-in is not configured
        self.clock = clock  # tests move it forward instead of sleeping

    # -- reading ------------------------------------------------------------------------------

    async def member(self, member_id: str) -> Member:
        return await self.members.store.require(member_id)

    async def status(self, member_id: str) -> tuple[Account | None, FailureWindow | None]:
        account = await self.accounts.get(member_id)
        if account is None:
            return None, None
        return account, await self.failures.window(account.id, account.window)

    # -- a cadre sets or resets a password -----------------------------------------------------

    async def set_password(self, member: Member, password: str, caller: Principal) -> Account:
        """初始密码 / 重置密码: the member must change it at the next sign-in."""
        caller.require_covers(
            grants(member, self.settings.school_campus),
            "account.privileged_member",
            "该会员担任的工会职务高于您的权限，只能由相应管理员设置其密码",
        )
        may_sign_in(member)
        password_hash = await self.passwords.hash(password)
        now = self.clock()
        existing = await self.accounts.get(member.id)
        actor = Actor.of(caller)
        account = await self._upsert(
            member, lambda a: a.set_password(password_hash, caller.subject, now), actor, "set"
        )
        action = "reset_password" if existing and existing.password_hash else "set_password"
        await self.audit.record(actor, action, member.id, member.campus, at=now)
        return account

    async def _upsert(
        self, member: Member, decide: Callable[[Account], None], actor: Actor, action: str
    ) -> Account:
        for _ in range(3):
            if await self.accounts.get(member.id, current=False) is not None:
                return await self.accounts.change(member.id, decide, actor, action)
            account = new_account(member)
            decide(account)
            try:
                return await self.accounts.add(account, actor, action)
            except AlreadyExists:
                continue  # created meanwhile: change that one
        raise Conflict("concurrency.conflict", "数据正被他人同时修改，请刷新后重试")

    # -- signing in ---------------------------------------------------------------------------

    async def sign_in(self, staff_no: str, password: str, client: str = UNKNOWN) -> SignInResult:
        """`client`: the address the request is counted as (throttles)."""
        async with self.throttles.password_attempt(client, account_key(staff_no), self.clock()):
            return await self._sign_in(staff_no, password)

    async def _sign_in(self, staff_no: str, password: str) -> SignInResult:
        member = await self._by_staff_no(staff_no)
        account = await self.accounts.get(member.id) if member else None
        if member is None or account is None or account.password_hash is None:
            # The reads and the argon2 work of a known account's wrong password, so neither
            # the answer nor its time tells whether this staff number has an account.
            await self.failures.window(f"nobody-{digest(staff_no)[:16]}", 1)
            await self.passwords.verify_nobody(password)
            raise invalid_credentials()
        account, window = await self._check_password(account, password)
        may_sign_in(member)
        rehash = None
        if self.passwords.needs_rehash(account.password_hash or ""):
            rehash = await self.passwords.hash(password)
        now = self.clock()
        await self.accounts.change(
            account.id,
            lambda a: a.signed_in(now, "password", window.window, window.failures, rehash),
            Actor(member.id, Actor.system().request),
            "sign_in",
        )
        return await self._result(member, account)

    async def _by_staff_no(self, staff_no: str) -> Member | None:
        try:
            return await self.members.by_staff_no(clean_staff_no(staff_no))
        except Invalid:
            return None

    async def _check_password(
        self, account: Account, password: str, wrong: Exception | None = None
    ) -> tuple[Account, FailureWindow]:
        """The password is right and the account not locked; else `wrong` (or 401 invalid
        credentials) is raised, and the attempt counted while the account is not locked (the
        fifth locks it). A locked account says so only after the right password: to a
        guesser it answers like any staff number, known or not."""
        now = self.clock()
        window = await self.failures.window(account.id, account.window)
        if window.expired(now):
            account = await self.unlock(account, window.window, "expired", Actor.system())
            window = await self.failures.window(account.id, account.window)
        assert account.password_hash is not None
        if not await self.passwords.verify(account.password_hash, password):
            if not window.locked(now):
                now = self.clock()
                n = await self.failures.take(
                    account.id, window.window, now, start=window.failures + 1
                )
                if n == MAX_FAILURES:
                    await self._lock(account, window.window, now)
            raise wrong or invalid_credentials()
        # Right, but a concurrent wrong attempt may have locked it meanwhile: it stays locked.
        window = await self.failures.window(account.id, window.window)
        if window.locked(self.clock()):
            raise locked(window.locked_until)
        return account, window

    async def _lock(self, account: Account, window: int, fifth_at: datetime) -> datetime:
        """The fifth wrong password: in the audit log first (keyed: written once), then on
        the account (its event). The failure slots are the lock itself; if this stops
        half-way, the account is locked all the same."""
        until = lock_until(fifth_at)
        actor = Actor.system()
        await self.audit.record(
            actor,
            "lock",
            account.id,
            account.campus,
            key=f"lock:{account.id}:{window}",
            at=fifth_at,
            failures=MAX_FAILURES,
            locked_until=until.isoformat(),
        )
        await self.accounts.change(account.id, lambda a: a.lock(window, until), actor, "lock")
        log.warning("account %s locked until %s", account.id, until.isoformat())
        return until

    async def unlock(self, account: Account, window: int, reason: str, actor: Actor) -> Account:
        """Open the next failure window; the audit entry is keyed by the window closed, so
        the job, a sign-in and a cadre unlocking at once write it once."""
        account = await self.accounts.change(
            account.id, lambda a: a.unlock(window, reason), actor, "unlock"
        )
        await self.audit.record(
            actor,
            "unlock",
            account.id,
            account.campus,
            key=f"unlock:{account.id}:{window}",
            at=self.clock(),
            reason=reason,
        )
        return account

    async def unlock_by(self, member: Member, caller: Principal) -> Account | None:
        """A cadre or admin lifts a lock (a no-op when the account is not locked)."""
        account, window = await self.status(member.id)
        if account is None or window is None or window.locked_until is None:
            return account
        return await self.unlock(account, window.window, "cadre", Actor.of(caller))

    async def expire_locks(self) -> int:
        """The scheduled job: unlock every account whose 15 minutes ran out (so the audit log
        shows the unlock when it happened, not at the member's next attempt)."""
        now = self.clock()
        done = 0
        for seen in await self.accounts.find({"locked_until": {"$lte": now}}, limit=500):
            # The view nominates; the current state decides (the view may lag an unlock).
            account = await self.accounts.get(seen.id)
            if account is None or account.locked_until is None:
                continue
            window = await self.failures.window(account.id, account.window)
            if window.expired(now):
                await self.unlock(account, window.window, "expired", Actor.system())
                done += 1
        return done

    # -- tokens -------------------------------------------------------------------------------

    async def _result(
        self, member: Member, account: Account | None, *, password_token: bool = False
    ) -> SignInResult:
        if account is not None and account.must_change_password:
            token, ttl = self._password_token(member)
            return SignInResult(
                status="password_change_required",
                member_id=member.id,
                password_token=token,
                password_token_expires_in=ttl,
            )
        return await self._session(member, password_token=password_token)

    async def _session(
        self,
        member: Member,
        *,
        family: str | None = None,
        started_at: datetime | None = None,
        password_token: bool = False,
    ) -> SignInResult:
        now = self.clock()
        granted = grants(member, self.settings.school_campus)
        settings = self.settings
        access = mint_token(
            member.id,
            list(granted.roles),
            list(granted.campuses),
            settings.access_ttl_s,
            private_key_file=settings.private_key_file,
            issuer=settings.issuer,
        )
        refresh, refresh_expires = await self.sessions.issue(
            member.id,
            family or uuid.uuid4().hex,
            started_at or now,
            now,
            timedelta(seconds=settings.refresh_ttl_s),
        )
        extra: dict[str, object] = {}
        if password_token:
            extra["password_token"], extra["password_token_expires_in"] = self._password_token(
                member
            )
        return SignInResult(
            status="ok",
            member_id=member.id,
            roles=granted.roles,
            campuses=granted.campuses,
            access_token=access,
            expires_in=settings.access_ttl_s,
            refresh_token=refresh,
            refresh_expires_at=refresh_expires,
            **extra,  # type: ignore[arg-type]
        )

    def _password_token(self, member: Member) -> tuple[str, int]:
        """A short-lived token that only the password change accepts (another audience)."""
        ttl = self.settings.password_token_ttl_s
        token = mint_token(
            member.id,
            [],
            [member.campus],
            ttl,
            private_key_file=self.settings.private_key_file,
            issuer=self.settings.issuer,
            audience=PASSWORD_AUDIENCE,
            extra={"jti": uuid.uuid4().hex},
        )
        return token, ttl

    async def refresh(self, token: str) -> SignInResult:
        """Rotate: the token is used up and a new one of the same session is issued. A token
        used twice ends the session (someone else may hold a copy)."""
        now = self.clock()
        found = await self.sessions.find(token)
        if found is None or found.expires_at <= now:
            raise ProblemError("auth.refresh_invalid", 401, "登录已失效，请重新登录")
        if await self.sessions.revoked(found.family):
            raise ProblemError("auth.refresh_revoked", 401, "已退出登录，请重新登录")
        if not await self.sessions.claim_use(token, now):
            await self.sessions.revoke(found.family, "reused", now)
            raise ProblemError(
                "auth.refresh_reused",
                401,
                "刷新令牌已被使用过；为安全起见本次登录已失效，请重新登录",
            )
        member = await self.members.store.get(found.member_id)
        account = await self.accounts.get(found.member_id)
        ended = member is None or member.status not in SIGN_IN_STATUSES
        if account is not None and account.sessions_from is not None:
            ended = ended or found.started_at < account.sessions_from
        if ended or member is None:
            await self.sessions.revoke(found.family, "ended", now)
            raise ProblemError("auth.refresh_revoked", 401, "登录已失效，请重新登录")
        return await self._session(member, family=found.family, started_at=found.started_at)

    async def sign_out(self, token: str) -> None:
        found = await self.sessions.find(token)
        if found is not None:
            await self.sessions.revoke(found.family, "signed_out", self.clock())

    # -- the member chooses a password ---------------------------------------------------------

    async def change_password(
        self,
        member_id: str,
        current: str | None,
        new: str,
        *,
        jti: str | None,
        client: str = UNKNOWN,
    ) -> SignInResult:
        """With a password-change token (`jti`, single-use) the current password is not asked
        again; with a normal session it is, and a wrong one counts towards the lockout."""
        member = await self.members.store.get(member_id)
        if member is None:
            raise NotFound(*MEMBER_NOT_FOUND, id=member_id)
        account = await self.accounts.get(member_id)
        if jti is not None:
            if not await self.one_time.claim(jti, self.clock()):
                raise ProblemError("auth.password_token_used", 401, "该改密令牌已使用，请重新登录")
        else:
            if account is None or account.password_hash is None:
                raise NotFound(*ACCOUNT_NOT_FOUND, id=member_id)
            if current is None:
                raise Forbidden("account.current_password_required", "请输入当前密码以修改密码")
            wrong = Forbidden("account.wrong_password", "当前密码不正确")
            now = self.clock()
            async with self.throttles.password_attempt(client, f"member:{member_id}", now):
                account, _ = await self._check_password(account, current, wrong)
        may_sign_in(member)
        if account is not None and account.password_hash is not None:
            if await self.passwords.verify(account.password_hash, new):
                raise Conflict("account.password_unchanged", "新密码不能与当前密码相同")
        password_hash = await self.passwords.hash(new)
        now = self.clock()
        actor = Actor(member.id, Actor.system().request)
        account = await self._upsert(
            member, lambda a: a.change_password(password_hash, now), actor, "change_password"
        )
        await self.audit.record(actor, "change_password", member.id, member.campus, at=now)
        return await self._session(member)

    # -- login links --------------------------------------------------------------------------

    async def request_link(self, staff_no: str, client: str = UNKNOWN) -> None:
        """Mail a single-use link if the staff number is a member who may sign in; the caller
        is answered the same either way (a 429 past the throttles, for any staff number).
        Mails per member are capped per minute and per day, silently."""
        now = self.clock()
        await self.throttles.link_request(client, account_key(staff_no), now)
        member = await self._by_staff_no(staff_no)
        if member is None or member.status not in SIGN_IN_STATUSES:
            return
        if member.email is None:  # no confirmed address (a pending one is nobody's yet)
            return
        if not await self.throttles.may_mail(member.id, now):
            return
        token = new_token()
        event = LoginLinkRequestedV2(
            member_id=member.id,
            campus=member.campus,
            sealed_link=self.links.seal(member.id, f"{LINK_PATH}{token}"),
            expires_at=now + LINK_TTL,
        )
        await self.links.create(event, token, now)
        await self.audit.record(
            Actor("anonymous", Actor.system().request),
            "request_login_link",
            member.id,
            member.campus,
            at=now,
        )

    async def redeem_link(self, token: str, client: str = UNKNOWN) -> SignInResult:
        """The link is the credential: a password lock does not stop it (a member locked out
        by someone guessing gets in this way), but an address trying links that do not work
        is throttled."""
        async with self.throttles.redemption(client, self.clock()):
            return await self._redeem_link(token)

    async def _redeem_link(self, token: str) -> SignInResult:
        now = self.clock()
        link = await self.links.find(token)
        if link is None or link["expires_at"] <= now:
            raise ProblemError("auth.link_invalid", 401, "登录链接无效或已过期，请重新申请")
        if not await self.links.claim_use(token, now):
            raise ProblemError("auth.link_used", 401, "登录链接已使用过，请重新申请")
        member = await self.member(link["member_id"])
        may_sign_in(member)
        account = await self.accounts.get(member.id)
        actor = Actor(member.id, Actor.system().request)
        if account is not None:
            # The lock concerns passwords: a link sign-in leaves the failure window as it is.
            await self.accounts.change(
                account.id,
                lambda a: a.signed_in(now, "login_link", a.window, 0, None),
                actor,
                "sign_in",
            )
        await self.audit.record(actor, "redeem_login_link", member.id, member.campus, at=now)
        return await self._result(member, account, password_token=True)

    # -- WeCom (企业微信) ------------------------------------------------------------------------

    async def sign_in_wecom(self, code: str, client: str = UNKNOWN) -> SignInResult:
        """WeCom vouches for the person (OAuth code → user id, members asks WeCom itself); the
        member with that `wecom_userid`, an account and a membership that signs in gets a
        session. An unknown user id, a code WeCom refuses and a non-member of the corp are
        one 401 (counted per address, like a wrong password). A password lock holds here
        too: WeCom proves the person, but a lock is lifted by its 15 minutes or a cadre."""
        if self.wecom is None:
            raise disabled()
        async with self.throttles.wecom_attempt(client, self.clock()):
            userid = await self.wecom.user_id(code)
            member = await self.members.by_wecom_userid(userid)
            account = await self.accounts.get(member.id) if member else None
            if member is None or account is None:
                raise wecom_refused()
        may_sign_in(member)
        now = self.clock()
        window = await self.failures.window(account.id, account.window)
        if window.locked(now):
            raise locked(window.locked_until)
        actor = Actor(member.id, Actor.system().request)
        await self.accounts.change(
            account.id,
            lambda a: a.signed_in(now, "wecom", a.window, 0, None),
            actor,
            "sign_in",
        )
        await self.audit.record(actor, "wecom_sign_in", member.id, member.campus, at=now)
        # The password a cadre set is still to be changed before it signs in; WeCom does not
        # use it, so the session is a full one.
        return await self._session(member)
