"""Where the platform may send a request it was told to send (merchant webhooks): public hosts only.

A host is resolved (numeric forms such as `127.1`, `0x7f.0.0.1` or `2130706433` by the C library
without any lookup, names through an injectable resolver with a timeout) and EVERY address it
resolves to must be public: loopback, private, link-local, CGNAT, metadata, multicast,
unspecified, reserved and documentation ranges are refused, in IPv4 and IPv6 (including
IPv4-mapped, NAT64 and 6to4 forms that embed a private IPv4). Delivery then connects to one of
the checked addresses (see `webhooks._send`), so a name that re-resolves elsewhere later (DNS
rebinding) cannot redirect it. The one exception is loopback when `allow_loopback` is set
(development only; Settings refuses it in prod).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence

from shared.errors import Unprocessable

RESOLVE_TIMEOUT_S = 3.0

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""(host, port) → the addresses the host resolves to, as strings."""

_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOOPBACK = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128"))


class BlockedDestination(Unprocessable):
    code = "webhook_url_refused"


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_blocked(ip: IPAddress, *, allow_loopback: bool = False) -> bool:
    """True for any address a request from here must not reach."""
    if isinstance(ip, ipaddress.IPv6Address) and (inner := _embedded_v4(ip)) is not None:
        return is_blocked(inner, allow_loopback=allow_loopback)
    if allow_loopback and any(ip in net for net in _LOOPBACK if net.version == ip.version):
        return False
    networks = _BLOCKED_V4 if isinstance(ip, ipaddress.IPv4Address) else _BLOCKED_V6
    if any(ip in net for net in networks):
        return True
    # the standard library's view as a second opinion (it knows a few more special ranges)
    return not ip.is_global or ip.is_multicast


def numeric_addresses(host: str) -> list[str] | None:
    """The addresses of a numeric host in any form the C library accepts, without a lookup;
    None for a name."""
    try:
        infos = socket.getaddrinfo(host, None, flags=socket.AI_NUMERICHOST, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        return None
    return sorted({str(info[4][0]) for info in infos})


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The event loop's getaddrinfo (a worker thread), bounded by RESOLVE_TIMEOUT_S."""
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP), RESOLVE_TIMEOUT_S
    )
    return sorted({str(info[4][0]) for info in infos})


async def public_addresses(
    host: str, port: int, *, resolver: Resolver | None = None, allow_loopback: bool = False
) -> list[str]:
    """Every address of `host`, all checked; raises BlockedDestination (422) if any is blocked or
    the host does not resolve."""
    addresses = numeric_addresses(host)
    if addresses is None:
        try:
            addresses = list(await (resolver or system_resolver)(host, port))
        except (OSError, TimeoutError, UnicodeError, ValueError) as exc:
            raise BlockedDestination("webhook host does not resolve", host=host) from exc
    if not addresses:
        raise BlockedDestination("webhook host does not resolve", host=host)
    for text in addresses:
        try:
            ip = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError as exc:
            raise BlockedDestination("webhook host resolves to an unusable address", host=host) from exc
        if is_blocked(ip, allow_loopback=allow_loopback):
            raise BlockedDestination("webhook url may not point at a private, local or reserved address", host=host)
    return addresses
