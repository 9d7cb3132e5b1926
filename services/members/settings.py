"""Settings of the members service (会员)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.client import networks
from shared.settings import (
    DEV_DATA_KEY,
    DEV_LINK_PUBLIC_KEY,
    DEV_PRIVATE_KEY,
    Environment,
    ServiceSettings,
)

LIMIT_TEXT = r"^[1-9][0-9]*/[1-9][0-9]*$"  # COUNT/SECONDS


class MembersSettings(ServiceSettings):
    service: ClassVar[str] = "members"

    auth_private_key_file: Path = Field(
        DEV_PRIVATE_KEY, description="PEM private key (Ed25519) members signs tokens with"
    )
    data_key_file: Path = Field(
        DEV_DATA_KEY,
        description="AES-256 key (base64) that seals ID-card numbers and salaries at rest",
    )
    link_public_key_file: Path = Field(
        DEV_LINK_PUBLIC_KEY,
        description="notify's X25519 public key (PEM): login links are sealed for it",
    )

    dues_rate_bp: int = Field(
        50,
        ge=0,
        le=10_000,
        description="monthly dues in basis points of the salary base (50 = 0.5%)",
    )
    dues_rounding: Literal["half_up", "half_even", "down", "up"] = Field(
        "half_up", description="how monthly dues are rounded to the fen"
    )
    dues_announce_window_days: int = Field(
        7,
        ge=1,
        le=31,  # dues.domain.MAX_ANNOUNCE_DAYS
        description="days back the 10-minute job looks for dues payments and reversals a "
        "crash left unannounced (welfare never booked them)",
    )
    school_campus: str = Field(
        "main",
        description="campus whose union is the school's: its chair (主席) signs in as admin of all",
    )
    access_token_ttl_s: int = Field(
        900, ge=60, le=86_400, description="lifetime of an access token issued at sign-in"
    )
    refresh_token_ttl_s: int = Field(
        14 * 86_400, ge=3600, description="lifetime of a refresh token (rotated on each use)"
    )
    password_token_ttl_s: int = Field(
        600, ge=60, le=3600, description="lifetime of the token that only changes a password"
    )
    password_hash_time_cost: int = Field(1, ge=1, le=10, description="argon2id passes")
    password_hash_memory_kib: int = Field(
        47_104, ge=8_192, le=1_048_576, description="argon2id memory per hash, KiB (46 MiB)"
    )
    password_hash_concurrency: int = Field(
        0,
        ge=0,
        le=64,
        description="argon2id hashes at once (memory = this × the memory cost); 0: one per core",
    )
    password_hash_queue: int = Field(
        8, ge=0, le=1000, description="sign-ins that may wait for a hasher; more get 503 at once"
    )
    password_hash_wait_s: float = Field(
        3.0, gt=0, le=60, description="longest wait for a hasher before a 503"
    )
    # Throttles (429 + Retry-After), COUNT/SECONDS. See services/members/accounts/throttle.py.
    trusted_proxies: str = Field(
        "",
        description="addresses/networks (comma-separated) whose X-Gonghui-Client and "
        "X-Forwarded-For members believes (web's); empty: every client is its socket peer",
    )
    throttle_address_failures: str = Field(
        "20/900",
        pattern=LIMIT_TEXT,
        description="wrong passwords and unknown staff numbers per client address",
    )
    throttle_account_attempts: str = Field(
        "10/300", pattern=LIMIT_TEXT, description="sign-in attempts per staff number"
    )
    throttle_link_address: str = Field(
        "10/900", pattern=LIMIT_TEXT, description="login-link requests per client address"
    )
    throttle_link_account: str = Field(
        "5/900", pattern=LIMIT_TEXT, description="login-link requests per staff number"
    )
    throttle_redeem_address_failures: str = Field(
        "20/900", pattern=LIMIT_TEXT, description="login links that do not redeem, per address"
    )
    throttle_in_flight: int = Field(
        2, ge=1, le=1000, description="sign-ins of one client address in progress at once"
    )
    login_link_mails_per_minute: int = Field(1, ge=1, le=10, description="per member")
    login_link_mails_per_day: int = Field(5, ge=1, le=100, description="per member")

    # WeCom (企业微信) sign-in: members alone holds the secret and asks WeCom who a code is.
    wecom_signin: bool = Field(
        False,
        description="WeCom (企业微信) sign-in on (web shows its button with the same switch); "
        "needs the corp id, agent id and secret",
    )
    wecom_base_url: str = Field(
        "https://qyapi.weixin.qq.com", description="WeCom API base URL (a local server in tests)"
    )
    wecom_corp_id: str = Field("", max_length=64, description="WeCom corp id (企业ID)")
    wecom_agent_id: int = Field(0, ge=0, description="WeCom application agent id (应用AgentId)")
    wecom_secret: SecretStr = Field(
        SecretStr(""), description="WeCom application secret (never logged)"
    )
    wecom_timeout_s: float = Field(10.0, gt=0, le=60, description="one request to WeCom")
    throttle_wecom_address_failures: str = Field(
        "20/900",
        pattern=LIMIT_TEXT,
        description="WeCom codes that name no member who may sign in, per client address",
    )

    @model_validator(mode="after")
    def _wecom_complete(self) -> MembersSettings:
        if not self.wecom_signin:
            return self
        missing = [
            f"GONGHUI_{name.upper()}"
            for name, value in (
                ("wecom_corp_id", self.wecom_corp_id),
                ("wecom_agent_id", self.wecom_agent_id),
                ("wecom_secret", self.wecom_secret.get_secret_value()),
            )
            if not value
        ]
        if missing:
            raise ValueError(
                "members 拒绝启动：已开启企业微信登录但缺少 / refuses to start: WeCom sign-in "
                f"is on (GONGHUI_WECOM_SIGNIN) without {', '.join(missing)}"
            )
        if self.env not in (Environment.development, Environment.test):
            if self.wecom_secret.get_secret_value().lower().startswith("dev"):
                raise ValueError(
                    "members 拒绝启动：GONGHUI_WECOM_SECRET 是开发用值 / refuses to start: "
                    "GONGHUI_WECOM_SECRET is a development value"
                )
            if not self.wecom_base_url.startswith("https://"):
                raise ValueError(
                    "members 拒绝启动：GONGHUI_WECOM_BASE_URL 须为 https / refuses to start: "
                    "the WeCom secret goes only over https in production"
                )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_parse(cls, value: str) -> str:
        networks(value)  # a typo fails at start, not as every client being the proxy
        return value

    @classmethod
    def isolated(cls, prefix: str, kafka_bootstrap: str, mongo_url: str, **over: Any) -> Self:
        """Tests and benchmarks sign in hundreds of times from one address (127.0.0.1): the
        address and account throttles are wide open unless a test sets them; the per-member
        mail caps keep their defaults. Loopback (the test client, web) is a trusted proxy, so a
        test can name other client addresses in X-Gonghui-Client."""
        roomy = {
            "trusted_proxies": "127.0.0.1,::1",
            "throttle_address_failures": "100000/60",
            "throttle_account_attempts": "100000/60",
            "throttle_link_address": "100000/60",
            "throttle_link_account": "100000/60",
            "throttle_redeem_address_failures": "100000/60",
            "throttle_wecom_address_failures": "100000/60",
            "throttle_in_flight": 1000,
            "password_hash_queue": 1000,
            "password_hash_wait_s": 60.0,
        }
        return super().isolated(prefix, kafka_bootstrap, mongo_url, **{**roomy, **over})

    def _secret_files(self) -> list[Path]:
        return [
            self.auth_public_key_file,
            self.auth_private_key_file,
            self.data_key_file,
            self.link_public_key_file,
        ]
