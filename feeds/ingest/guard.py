"""Refuse connections to private, loopback and link-local addresses (SSRF guard).

Article links come from upstream feeds, so a feed can point lingofeed at anything its host can
reach: a router's admin page, a cloud metadata service (169.254.169.254), a database on
localhost. Checking the hostname before the request is not enough: DNS may answer differently
the second time (rebinding), and a public page may redirect to a private one. So the check runs
on the address each connection is actually connected to, after the TCP connect and before a
single byte of the request is sent, for every connection of every redirect hop.

It hooks into httpcore's documented ``trace`` request extension (``connection.connect_tcp``
events carry the connected stream), which httpx passes on to every redirect hop.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddressError(Exception):
    """A connection reached an address the guard refuses; the request was never sent."""

    def __init__(self, host: str, address: str, kind: str) -> None:
        self.host = host
        self.address = address
        self.kind = kind
        where = f"{address} is" if host == address else f"{host} connects to {address},"
        super().__init__(f"{where} a {kind} address")


def address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is refused (``"loopback"``, ``"private"``...), or None for a public one.

    An IPv4 address mapped into IPv6 (``::ffff:127.0.0.1``) is judged as the IPv4 address it is.
    Anything not globally routable is refused, not only the three named ranges: ``0.0.0.0``
    reaches the local host on Linux, and shared (100.64/10) or reserved space is never an
    article's home.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind, flag in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
    ):
        if flag:
            return kind
    return None if address.is_global else "non-public"


@dataclass(frozen=True)
class AddressGuard:
    """Refuses connections to non-public addresses, except to the networks in ``allowed``.

    ``allowed`` lets a test (or a caller that trusts one network) exempt exactly that network;
    the service uses either this guard with nothing allowed or no guard at all
    (``[service] allow_private_addresses = true``).
    """

    allowed: Collection[IPNetwork] = ()

    def check(self, host: str, peer: object) -> None:
        """Raise ``RefusedAddressError`` unless ``peer`` (a socket's peer name) may be used."""
        if not isinstance(peer, tuple) or not peer or not isinstance(peer[0], str):
            raise RefusedAddressError(host, repr(peer), "unverifiable")
        address = ipaddress.ip_address(peer[0].split("%", 1)[0])
        if any(address in network for network in self.allowed):
            return
        kind = address_kind(address)
        if kind is not None:
            raise RefusedAddressError(host, str(address), kind)

    def trace(self) -> _ConnectCheck:
        """A fresh ``trace`` extension for one request (it remembers the host it connects to)."""
        return _ConnectCheck(self)


class _ConnectCheck:
    """httpcore ``trace`` callback: checks each new connection's peer before the request goes.

    A refused connection is closed here, since httpcore does not close a stream whose connect
    trace raised.
    """

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._host = "?"

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.started":
            self._host = str(info.get("host", "?"))
        elif event == "connection.connect_tcp.complete":
            stream = info["return_value"]
            try:
                self._guard.check(self._host, stream.get_extra_info("server_addr"))
            except RefusedAddressError:
                stream.close()
                raise
