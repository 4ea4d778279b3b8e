"""Allow-list syntax, matching and address checks."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.sandbox.egress import AllowList, AllowListError, EntryKind, is_public
from bastion.sandbox.egress.allowlist import normalize_host


def _allowed(entries: list[str], host: str, port: int) -> bool:
    return AllowList.parse(entries).check_request(host, port).allowed


@pytest.mark.parametrize(
    ("entry", "host", "port", "allowed"),
    [
        ("example.com", "example.com", 443, True),
        ("example.com", "EXAMPLE.com.", 80, True),
        ("example.com", "example.com", 8443, False),
        ("example.com", "api.example.com", 443, False),
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        ("*.example.com", "api.example.com", 443, True),
        ("*.example.com", "a.b.example.com", 443, True),
        ("*.example.com", "example.com", 443, False),
        ("*.example.com", "badexample.com", 443, False),
        ("*.example.com", "example.com.evil.net", 443, False),
        ("*.example.com:8080", "api.example.com", 8080, True),
        ("203.0.113.7", "203.0.113.7", 443, True),
        ("203.0.113.7:8080", "203.0.113.7", 443, False),
        ("10.1.0.0/16", "10.1.2.3", 80, True),
        ("10.1.0.0/16", "10.2.0.1", 80, False),
        ("[2001:db8::1]:443", "[2001:db8::1]", 443, True),
        ("2001:db8::1", "2001:db8::1", 80, True),
        ("bücher.example", "xn--bcher-kva.example", 443, True),
        ("example.com", "203.0.113.7", 443, False),
        ("example.com", "exa mple.com", 443, False),
    ],
)
def test_matching(entry: str, host: str, port: int, allowed: bool) -> None:
    assert _allowed([entry], host, port) is allowed


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "empty entry"),
        ("*.com", "at least two labels"),
        ("*", "not a valid host name"),
        ("a.*.example.com", "not a valid host name"),
        ("*.*.example.com", "not a valid wildcard"),
        ("example.com:0", "port '0'"),
        ("example.com:http", "port 'http'"),
        ("exa_mple..com", "not a valid host name"),
        ("10.0.0.1/8", "not a valid IP address or network"),
        ("[2001:db8::1", "without ']'"),
        ("[2001:db8::1]x", "unexpected text"),
        ("-bad.example", "not a valid host name"),
        ("127.1", "not a valid host name"),
        ("*.0x7f.1", "not a valid wildcard"),
    ],
)
def test_invalid_entries_name_the_entry(entry: str, message: str) -> None:
    with pytest.raises(AllowListError, match="network entry 2") as info:
        AllowList.parse(["ok.example", entry], path="pipeline.yml")
    assert message in info.value.message
    assert info.value.entry == entry
    assert info.value.index == 1
    assert info.value.location() == "pipeline.yml"
    assert info.value.hint is not None
    assert "*.example.com" in info.value.hint


def test_entry_kinds_and_rendering() -> None:
    allow = AllowList.parse(["a.example", "*.b.example", "192.0.2.1:81"])
    assert [e.kind for e in allow.entries] == [
        EntryKind.NAME,
        EntryKind.WILDCARD,
        EntryKind.ADDRESS,
    ]
    assert str(allow) == "a.example, *.b.example, 192.0.2.1:81"
    assert str(AllowList.parse([])) == "(nothing)"


def test_address_checks_refuse_private_unless_listed() -> None:
    allow = AllowList.parse(["a.example", "127.0.0.1:8080", "10.9.0.0/16"])
    check = allow.check_address
    assert check(ipaddress.ip_address("8.8.8.8"), 443).allowed
    assert not check(ipaddress.ip_address("127.0.0.1"), 443).allowed
    assert check(ipaddress.ip_address("127.0.0.1"), 8080).allowed
    assert check(ipaddress.ip_address("::ffff:127.0.0.1"), 8080).allowed
    assert check(ipaddress.ip_address("10.9.8.7"), 443).allowed
    refused = check(ipaddress.ip_address("192.168.1.1"), 443)
    assert not refused.allowed
    assert "non-public address 192.168.1.1" in refused.reason


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860::8888", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::7f00:1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_names = st.tuples(
    st.lists(_label, min_size=1, max_size=3), st.from_regex(r"[a-z]{2,6}", fullmatch=True)
).map(lambda parts: ".".join([*parts[0], parts[1]]))


@given(name=_names, sub=_label)
def test_wildcards_cover_subdomains_never_the_apex(name: str, sub: str) -> None:
    wildcard = AllowList.parse([f"*.{name}"])
    assert wildcard.check_request(f"{sub}.{name}", 443).allowed
    assert not wildcard.check_request(name, 443).allowed
    exact = AllowList.parse([name])
    assert exact.check_request(name.upper(), 80).allowed
    assert not exact.check_request(f"{sub}.{name}", 80).allowed


@given(st.text(max_size=30))
def test_request_checks_never_raise(host: str) -> None:
    verdict = AllowList.parse(["*.example.com", "10.0.0.0/8"]).check_request(host, 443)
    if verdict.allowed:
        assert normalize_host(host) is not None or host.startswith("10.")
