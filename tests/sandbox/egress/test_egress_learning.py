"""Learning mode: everything public allowed, contacted hosts rendered as an allow-list."""

from __future__ import annotations

import ipaddress

from bastion.sandbox.egress import AllowList, LearningRecorder, StaticResolver, render_allow_list

from .egress_support import ProxyFactory, UnixProxyConnection


def test_recorder_allows_names_but_not_private_addresses() -> None:
    recorder = LearningRecorder()
    assert recorder.check_request("Pypi.org", 443).allowed
    assert recorder.check_request("203.0.113.9", 8080).allowed
    assert not recorder.check_request("bad host", 443).allowed
    assert recorder.check_address(ipaddress.ip_address("8.8.8.8"), 443).allowed
    refused = recorder.check_address(ipaddress.ip_address("127.0.0.1"), 443)
    assert not refused.allowed
    assert "refused while learning" in refused.reason
    assert recorder.contacted == [("203.0.113.9", 8080), ("pypi.org", 443)]


def test_rendered_list_parses_back_and_allows_what_was_seen() -> None:
    seen = [("pypi.org", 443), ("files.example", 8443), ("2001:db8::5", 443), ("pypi.org", 80)]
    text = render_allow_list(seen)
    assert text == ('network:\n  - "[2001:db8::5]"\n  - "files.example:8443"\n  - pypi.org\n')
    entries = [line.strip()[2:].strip('"') for line in text.splitlines()[1:]]
    allow = AllowList.parse(entries)
    for host, port in seen:
        assert allow.check_request(host, port).allowed
    assert render_allow_list([]) == "network: none\n"


def test_learning_through_the_proxy_records_and_still_refuses_loopback(
    start_proxy: ProxyFactory, origin: int
) -> None:
    recorder = LearningRecorder()
    resolver = StaticResolver({"sneaky.example": ["127.0.0.1"]})
    proxy, path, records = start_proxy(recorder, resolver)
    conn = UnixProxyConnection(path)
    conn.request("GET", f"http://sneaky.example:{origin}/")
    assert conn.getresponse().status == 403
    conn.close()
    proxy.stop()
    assert recorder.contacted == [("sneaky.example", origin)]
    assert not records[0].allowed
