"""Where the fetcher may connect: public internet addresses only, unless told otherwise.

A feed or listing page is untrusted: a redirect (or a DNS name) can point the fetcher at the
operator's own network (``127.0.0.1``, ``10.0.0.0/8``, the cloud metadata address
``169.254.169.254``). Every connection goes through ``GuardedBackend``, which resolves the name
itself, refuses any non-global address, and connects to the address it checked (so a name that
resolves differently a moment later cannot slip through). ``MONITOR_ALLOW_PRIVATE_HOSTS=1``
turns the guard off (tests); a list of addresses or networks (``10.1.0.0/16,192.168.5.7``)
opens only those (sites on an operator's own network).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class PrivateAddressError(httpcore.ConnectError):
    """The host resolves to an address the fetcher must not reach."""


@dataclass(frozen=True)
class Policy:
    """Which addresses may be reached: public ones, plus ``allowed`` networks (or all)."""

    allow_all: bool = False
    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, allow: bool | Iterable[str]) -> Policy:
        """``True``: everything; ``False``: public addresses only; a list of addresses or
        networks (CIDR): those too. ValueError for an entry that is neither."""
        if isinstance(allow, bool):
            return cls(allow_all=allow)
        return cls(allowed=tuple(ipaddress.ip_network(a.strip(), strict=False) for a in allow))

    def permits(self, address: str) -> bool:
        if self.allow_all:
            return True
        ip = _ip(address)
        if ip is None:
            return False
        return not forbidden(address) or any(ip in network for network in self.allowed)


def _ip(address: str) -> IPAddress | None:
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip


def forbidden(address: str) -> bool:
    """Whether ``address`` (an IP literal) is loopback, private, link-local or otherwise not
    a public internet address."""
    ip = _ip(address)
    return ip is None or not ip.is_global or ip.is_multicast


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host``, in the resolver's order; ConnectError when it has none."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return [host.strip("[]")]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise httpcore.ConnectError(f"cannot resolve {host}: {e}") from e
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise httpcore.ConnectError(f"cannot resolve {host}: no address")
    return addresses


def refusal(policy: Policy, host: str, addresses: Iterable[str]) -> str | None:
    """Why connecting to ``host`` is refused, or None."""
    bad = [a for a in addresses if not policy.permits(a)]
    if not bad:
        return None
    what = "is" if bad[0] == host else f"resolves to {bad[0]},"
    return (
        f"refused: {host} {what} a private, loopback or link-local address "
        "(MONITOR_ALLOW_PRIVATE_HOSTS allows such addresses)"
    )


async def check_host(policy: Policy, host: str, port: int) -> str | None:
    """Why ``host`` may not be fetched (resolving it), or None; a name that does not resolve
    is left to the connection to report."""
    if policy.allow_all:
        return None
    try:
        return refusal(policy, host, await resolve(host, port))
    except httpcore.ConnectError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to vetted public addresses."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self.policy.allow_all:
            addresses = [host]
        else:
            addresses = await resolve(host, port)
            reason = refusal(self.policy, host, addresses)
            if reason:
                raise PrivateAddressError(reason)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
