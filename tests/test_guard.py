"""The address guard on real connections: the connected address is checked, at every hop.

Everything here runs on loopback, so where a test needs a first hop that passes, the guard is
told to allow exactly 127.0.0.1; 127.0.0.2 (also loopback on Linux) then stands for the private
address a public page redirects to. A refused connection never carries the request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from lingofeed.feeds.errors import FetchError
from lingofeed.feeds.ingest.fetch import Fetcher
from lingofeed.feeds.ingest.guard import AddressGuard, address_kind
from tests.fixtures.feeds import FeedServer

ONLY_127_0_0_1 = AddressGuard(allowed=(ipaddress.ip_network("127.0.0.1/32"),))


@pytest.fixture
def other_host() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.2."""
    server = FeedServer("127.0.0.2")
    try:
        yield server
    finally:
        server.close()


def test_a_redirect_to_a_private_address_is_refused_before_the_request_is_sent(
    feed_server: FeedServer, other_host: FeedServer
):
    target = other_host.add("/admin", b"secret", content_type="text/html")
    start = feed_server.redirect("/article", target, status=302)
    with Fetcher(guard=ONLY_127_0_0_1) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch("s", start)
    assert "refused: 127.0.0.2 is a loopback address" in str(info.value)
    assert feed_server.requests_for("/article") and other_host.requests == []


def test_the_check_is_on_the_connected_address_not_the_name(feed_server: FeedServer):
    url = feed_server.add("/page", b"<p>x</p>", content_type="text/html")
    local = url.replace("127.0.0.1", "localhost")
    with Fetcher(guard=AddressGuard()) as fetcher, pytest.raises(FetchError) as info:
        fetcher.fetch("s", local)
    assert "localhost connects to 127.0.0.1, a loopback address" in str(info.value)
    assert "allow_private_addresses = true" in str(info.value)
    assert feed_server.requests == []


def test_allowed_networks_and_unguarded_fetchers_connect(feed_server: FeedServer):
    url = feed_server.add("/page", b"<p>x</p>", content_type="text/html")
    with Fetcher(guard=ONLY_127_0_0_1) as guarded, Fetcher() as plain:
        assert guarded.fetch("s", url).body == b"<p>x</p>"
        assert plain.fetch("s", url).body == b"<p>x</p>"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::", "unspecified"),
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_kinds_cover_ipv4_and_ipv6_ranges(address: str, kind: str | None):
    assert address_kind(ipaddress.ip_address(address)) == kind
