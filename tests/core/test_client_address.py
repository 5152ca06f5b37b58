"""The caller's address that per-client limits key on (issue 10, items 8 and 10)."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from jiaoguan.core.middleware import client_address


def request(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_proxies_the_connecting_address_counts_and_forwarded_headers_are_ignored(settings):
    settings.CLIENT_PROXY_HOPS = 0
    assert client_address(request("203.0.113.5", "198.51.100.1")) == "203.0.113.5"
    assert client_address(None) == ""


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        # A caller may write anything before the proxy's own entry: only the proxy's counts.
        (1, "10.0.0.1, 192.0.2.99, 198.51.100.7", "198.51.100.7"),
        (2, "192.0.2.99, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        # Fewer entries than proxies: something skipped a proxy; the connecting address counts.
        (2, "198.51.100.7", "10.0.0.9"),
    ],
)
def test_behind_proxies_the_address_the_nearest_trusted_proxy_saw_counts(settings, hops, forwarded, expected):
    settings.CLIENT_PROXY_HOPS = hops
    assert client_address(request("10.0.0.9", forwarded)) == expected


def test_an_ipv6_caller_is_its_slash_64(settings):
    settings.CLIENT_PROXY_HOPS = 0
    one = client_address(request("2001:db8:1:2:aaaa::1"))
    other = client_address(request("2001:db8:1:2:bbbb::2"))
    assert one == other == "2001:db8:1:2::/64"
    assert client_address(request("2001:db8:1:3::1")) != one
    assert client_address(request("::ffff:203.0.113.5")) == "203.0.113.5"
