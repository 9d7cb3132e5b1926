"""The throttles' pure rules: time buckets, Retry-After, the client address behind proxies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.members.accounts.throttle import Limit, Throttled, account_key, hashed
from shared.client import CLIENT_HEADER, client_address, networks

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Beijing


def test_a_limit_is_count_per_seconds_in_fixed_buckets():
    limit = Limit.parse("fail", "20/900")
    assert (limit.count, limit.window_s) == (20, 900)
    assert limit.bucket(T0) == limit.bucket(T0 + timedelta(seconds=899))
    assert limit.bucket(T0 + timedelta(seconds=900)) == limit.bucket(T0) + 1
    assert limit.ends(T0 + timedelta(seconds=100)) == T0 + timedelta(seconds=900)
    assert limit.retry_after(T0 + timedelta(seconds=100)) == 800
    assert limit.retry_after(T0 + timedelta(seconds=899, microseconds=900_000)) == 1
    for bad in ("0/60", "5/0", "5", "x/60"):
        with pytest.raises(ValueError):
            Limit.parse("fail", bad)


def test_a_day_of_mails_is_a_calendar_day_in_beijing():
    day = Limit("mail-day", 5, 86_400, 8 * 3600)
    midnight_beijing = datetime(2026, 3, 1, 16, 0, tzinfo=UTC)
    assert day.bucket(midnight_beijing - timedelta(seconds=1)) + 1 == day.bucket(midnight_beijing)
    assert day.bucket(midnight_beijing) == day.bucket(midnight_beijing + timedelta(hours=23))
    assert day.ends(T0) == midnight_beijing + timedelta(days=1)


def test_throttled_is_a_429_problem_with_retry_after():
    exc = Throttled(42)
    assert (exc.code, exc.status) == ("auth.throttled", 429)
    assert exc.headers == {"Retry-After": "42"} and exc.extra == {"retry_after": 42}


def test_the_account_key_is_the_staff_number_as_typed_without_case_or_spaces():
    assert account_key(" t 0001 ") == account_key("T0001") != account_key("T0002")
    assert len(hashed("anything")) == 32 and hashed("a") != hashed("b")


PROXY = networks("10.0.0.5, 192.168.1.0/24")


def test_a_client_is_its_socket_peer_unless_the_peer_is_a_trusted_proxy():
    headers = {"x-forwarded-for": "1.2.3.4", CLIENT_HEADER.lower(): "5.6.7.8"}
    assert client_address("203.0.113.9", headers, PROXY) == "203.0.113.9"
    assert client_address("203.0.113.9", headers, ()) == "203.0.113.9"
    assert client_address(None, {}, PROXY) == "unknown"
    assert client_address("testclient", {}, PROXY) == "unknown"


def test_a_trusted_proxy_names_the_client():
    assert client_address("10.0.0.5", {CLIENT_HEADER.lower(): "5.6.7.8"}, PROXY) == "5.6.7.8"
    # X-Forwarded-For is read from the right, past trusted hops; what the client wrote on the
    # left is not believed.
    chain = {"x-forwarded-for": "6.6.6.6, 1.2.3.4, 192.168.1.7"}
    assert client_address("10.0.0.5", chain, PROXY) == "1.2.3.4"
    assert client_address("10.0.0.5", {"x-forwarded-for": "junk, 1.2.3.4"}, PROXY) == "1.2.3.4"
    assert client_address("10.0.0.5", {"x-forwarded-for": "1.2.3.4, junk"}, PROXY) == "10.0.0.5"
    assert client_address("10.0.0.5", {CLIENT_HEADER.lower(): "not an ip"}, PROXY) == "10.0.0.5"


def test_ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4():
    one = client_address("2001:db8:1:2::1", {}, ())
    assert one == client_address("2001:db8:1:2:ffff::9", {}, ()) == "2001:db8:1:2::/64"
    assert client_address("::ffff:198.51.100.7", {}, ()) == "198.51.100.7"


def test_a_misspelt_proxy_setting_is_refused():
    with pytest.raises(ValueError):
        networks("10.0.0.300")
