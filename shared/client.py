"""Who is at the other end of a request: the client address the throttles count by.

A request's socket peer is the client unless the peer is one of the configured trusted
proxies (a setting listing addresses or networks, default none). Only then are the
forwarding headers believed: `X-Gonghui-Client` (web names the browser it calls for) and
`X-Forwarded-For`, read from the right, skipping trusted hops, because everything left of
the first untrusted hop is whatever the client chose to write. A header from anyone else is
ignored, so a caller cannot pick a fresh address for every guess.

IPv6 clients are counted by their /64: one host usually holds a whole /64 and could
otherwise rotate through it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

CLIENT_HEADER = "X-Gonghui-Client"
UNKNOWN = "unknown"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(spec: str | Iterable[str]) -> tuple[Network, ...]:
    """`"127.0.0.1, 10.0.0.0/8, ::1"` (a setting) as networks; raises ValueError on a typo."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, trusted: tuple[Network, ...]
) -> bool:
    return address is not None and any(address in net for net in trusted)


def client_address(
    peer: str | None, headers: Mapping[str, str], trusted: tuple[Network, ...]
) -> str:
    """The client a request is counted as (an address, an IPv6 /64, or `unknown`)."""
    peer_address = _address(peer)
    if not _trusted(peer_address, trusted):
        return _key(peer_address)
    named = _address(headers.get(CLIENT_HEADER.lower()) or headers.get(CLIENT_HEADER))
    if named is not None:
        return _key(named)
    forwarded = headers.get("x-forwarded-for") or headers.get("X-Forwarded-For") or ""
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _address(hop)
        if address is None:
            break  # garbage in the chain: stop believing it here
        if not _trusted(address, trusted):
            return _key(address)
    return _key(peer_address)


def _key(address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str:
    if address is None:
        return UNKNOWN
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
