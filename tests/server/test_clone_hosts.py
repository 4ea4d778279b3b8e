"""The address rule for clone URLs (server-side request forgery): a URL whose host is or
resolves to the server itself, its cloud's metadata service, or any other address class
the server must not fetch from is refused, in every notation git and curl read; private
networks, where self-hosted git servers live, are allowed."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from bastion.server.clone_hosts import (
    CloneHostError,
    IPAddress,
    Resolver,
    check_clone_host,
    forbidden_class,
    literal_address,
)

FORBIDDEN = [
    ("https://127.0.0.1/app.git", "loopback"),
    ("https://127.1/app.git", "loopback"),
    ("https://2130706433/app.git", "loopback"),
    ("https://0x7f.1/app.git", "loopback"),
    ("https://0x7f000001/app.git", "loopback"),
    ("https://0177.0.0.1/app.git", "loopback"),
    ("https://017700000001/app.git", "loopback"),
    ("https://127.255.0.9:6379/", "loopback"),
    ("https://[::1]:5432/app.git", "loopback"),
    ("git://[::ffff:127.0.0.1]/app.git", "loopback"),
    ("git://[::ffff:7f00:1]/app.git", "loopback"),
    ("https://[2002:7f00:1::]/app.git", "loopback"),  # 6to4 around 127.0.0.1
    ("https://[64:ff9b::7f00:1]/app.git", "loopback"),  # NAT64 around 127.0.0.1
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://0xa9fea9fe/latest/meta-data/", "cloud metadata"),
    ("https://2852039166/latest/meta-data/", "cloud metadata"),
    ("https://[::ffff:169.254.169.254]/", "cloud metadata"),
    ("https://[fd00:ec2::254]/", "cloud metadata"),
    ("https://100.100.100.200/", "cloud metadata"),
    ("https://169.254.1.1/app.git", "link-local"),
    ("https://[fe80::1]/app.git", "link-local"),
    ("https://[fe80::1%25eth0]/app.git", "link-local"),
    ("ssh://git@[febf::1]:22/app.git", "link-local"),
    ("https://0.0.0.0/app.git", "unspecified"),
    ("https://0/app.git", "unspecified"),
    ("https://[::]/app.git", "unspecified"),
    ("https://0.1.2.3/app.git", "'this network' (0/8)"),
    ("https://224.0.0.1/app.git", "multicast"),
    ("https://[ff02::1]/app.git", "multicast"),
    ("https://240.0.0.1/app.git", "reserved"),
    ("https://255.255.255.255/app.git", "reserved"),
    ("https://[::127.0.0.1]/app.git", "reserved"),  # IPv4-compatible, deprecated
]

ALLOWED = [
    "https://10.0.0.7/team/app.git",
    "https://10.255.255.254:8443/app.git",
    "ssh://git@172.16.4.2/app.git",
    "git://172.31.0.1/app.git",
    "https://192.168.1.20/app.git",
    "https://100.64.0.9/app.git",  # shared address space: Tailscale, carrier NAT
    "https://[fd12:3456::7]/app.git",
    "https://[fc00::1]/app.git",
    "https://[2001:db8::1]/app.git",
    "https://198.51.100.4/app.git",
    "https://[::ffff:10.0.0.7]/app.git",
    "https://bot:token@10.0.0.7/app.git",
]


def fake(table: dict[str, list[str]]) -> Resolver:
    """A resolver answering from ``table`` (nothing for a name it does not hold)."""

    def resolve(host: str) -> list[IPAddress]:
        return [ip_address(a) for a in table.get(host, [])]

    return resolve


def refusal(url: str, table: dict[str, list[str]] | None = None) -> str:
    with pytest.raises(CloneHostError) as raised:
        check_clone_host(url, fake(table or {}))
    return raised.value.message


@pytest.mark.parametrize(("url", "kind"), FORBIDDEN)
def test_every_forbidden_class_is_refused_in_every_notation(url: str, kind: str) -> None:
    message = refusal(url)
    assert f" {kind} address" in message
    assert "\n" not in message


@pytest.mark.parametrize("url", ALLOWED)
def test_private_and_public_addresses_are_allowed(url: str) -> None:
    check_clone_host(url, fake({}))  # literals: DNS is never asked


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    table = {
        "git.corp.example": ["10.1.2.3", "fd00::3"],
        "sneaky.example": ["203.0.113.9", "127.0.0.1"],
        "metadata.google.internal": ["169.254.169.254"],
        "v6.example": ["2001:db8::5", "::1"],
        "localhost": ["127.0.0.1", "::1"],
    }
    check_clone_host("https://git.corp.example/app.git", fake(table))
    assert "resolves to 127.0.0.1, a loopback" in refusal("https://sneaky.example/x", table)
    assert "cloud metadata" in refusal("http://metadata.google.internal/", table)
    assert "::1, a loopback" in refusal("ssh://git@v6.example/app.git", table)
    assert "loopback" in refusal("https://LOCALHOST/app.git", table)


def test_a_host_that_does_not_resolve_is_refused_as_unchecked() -> None:
    message = refusal("https://forge.invalid/app.git")
    assert message == (
        "the clone URL's host forge.invalid does not resolve from the server, "
        "so its addresses cannot be checked"
    )


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://%31%32%37.0.0.1/app.git", "percent-encoded"),
        ("https://１２７.０.０.１/app.git", "ASCII (xn--) form"),  # IDNA maps it to 127.0.0.1
        ("ssh://[git@127.0.0.1]:22/app.git", "malformed"),
        ("https://forge.example@10.0.0.1@127.0.0.1/app.git", "ambiguous"),
        ("https://forge.example\\@127.0.0.1/app.git", "ambiguous"),
        ("https:///app.git", "names no host"),
    ],
)
def test_hosts_git_might_read_differently_are_refused(url: str, says: str) -> None:
    assert says in refusal(url, {"forge.example": ["10.0.0.1"]})


def test_a_file_url_names_no_host_to_check() -> None:
    check_clone_host("file:///srv/git/app.git", lambda host: [ip_address("127.0.0.1")])


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("::ffff:a9fe:a9fe", "::ffff:a9fe:a9fe"),
        ("cafe", None),  # a host name, not hexadecimal
        ("0x7f.example", None),
        ("1e100", None),
    ],
)
def test_literal_addresses_are_read_like_curl_reads_them(host: str, address: str | None) -> None:
    found = literal_address(host)
    assert (str(found) if found is not None else None) == address


def test_the_embedded_ipv4_address_decides() -> None:
    assert forbidden_class(ip_address("::ffff:10.0.0.1")) is None
    assert forbidden_class(ip_address("64:ff9b::8.8.8.8")) is None
    assert forbidden_class(ip_address("64:ff9b::a9fe:a9fe")) == "cloud metadata"
    assert forbidden_class(ip_address("2002:a9fe:0101::")) == "link-local"
