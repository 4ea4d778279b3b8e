"""Version ordering per ecosystem: total-order properties (hypothesis) and known pairs."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.scanners.sca.errors import InvalidVersionError
from bastion.scanners.sca.versions import (
    SUPPORTED_ECOSYSTEMS,
    base_ecosystem,
    is_pseudo_version,
    normalize_name,
    parse_version,
)

_small = st.integers(min_value=0, max_value=12)
_num = _small.map(str)


def _pep440() -> st.SearchStrategy[str]:
    release = st.lists(_num, min_size=1, max_size=4).map(".".join)
    pre = st.one_of(st.just(""), st.tuples(st.sampled_from(["a", "b", "rc"]), _num).map("".join))
    post = st.one_of(st.just(""), _num.map(lambda n: f".post{n}"))
    dev = st.one_of(st.just(""), _num.map(lambda n: f".dev{n}"))
    return st.tuples(release, pre, post, dev).map("".join)


def _semver(prefix: str = "") -> st.SearchStrategy[str]:
    ident = st.one_of(_num, st.sampled_from(["alpha", "beta", "rc", "x-y", "0a"]))
    pre = st.one_of(
        st.just(""), st.lists(ident, min_size=1, max_size=3).map(lambda p: "-" + ".".join(p))
    )
    build = st.one_of(st.just(""), st.just("+build.5"))
    core = st.tuples(_num, _num, _num).map(".".join)
    return st.tuples(core, pre, build).map(lambda t: prefix + "".join(t))


def _go() -> st.SearchStrategy[str]:
    pseudo = st.tuples(_num, st.integers(20190101000000, 20251231235959)).map(
        lambda t: f"v{t[0]}.0.0-{t[1]}-abcdefabcdef"
    )
    tagged = st.tuples(_semver("v"), st.booleans()).map(
        lambda t: t[0].split("+")[0] + ("+incompatible" if t[1] else "")
    )
    return st.one_of(pseudo, tagged)


def _gem() -> st.SearchStrategy[str]:
    seg = st.one_of(_num, st.sampled_from(["a", "b", "pre", "rc", "beta"]))
    return st.tuples(_num, st.lists(seg, max_size=4)).map(lambda t: ".".join([t[0], *t[1]]))


def _maven() -> st.SearchStrategy[str]:
    token = st.one_of(
        _num,
        st.sampled_from(
            ["alpha", "beta", "rc", "cr", "snapshot", "ga", "final", "sp", "foo", "m", "a"]
        ),
    )
    sep = st.sampled_from([".", "-", ""])
    rest = st.lists(st.tuples(sep, token).map("".join), max_size=4).map("".join)
    return st.tuples(_num, rest).map("".join)


def _debian() -> st.SearchStrategy[str]:
    upstream = st.tuples(_num, st.text(alphabet="0123456789.+~ab", max_size=6)).map("".join)
    epoch = st.one_of(st.just(""), _num.map(lambda n: f"{n}:"))
    revision = st.one_of(
        st.just(""),
        st.text(alphabet="0123456789.~+ub", min_size=1, max_size=4).map(lambda r: f"-{r}"),
    )
    return st.tuples(epoch, upstream, revision).map("".join)


def _apk() -> st.SearchStrategy[str]:
    numbers = st.lists(
        st.sampled_from(["0", "1", "2", "10", "01", "05"]), min_size=1, max_size=3
    ).map(".".join)
    letter = st.sampled_from(["", "a", "c"])
    suffix = st.lists(
        st.tuples(
            st.sampled_from(["_alpha", "_beta", "_pre", "_rc", "_p", "_git", "_svn"]),
            st.sampled_from(["", "1", "2"]),
        ).map("".join),
        max_size=2,
    ).map("".join)
    rev = st.sampled_from(["", "-r0", "-r1", "-r10"])
    return st.tuples(
        st.sampled_from(["1", "2", "10"]), numbers.map(lambda n: "." + n), letter, suffix, rev
    ).map("".join)


STRATEGIES: dict[str, st.SearchStrategy[str]] = {
    "PyPI": _pep440(),
    "npm": _semver(),
    "crates.io": _semver(),
    "Go": _go(),
    "RubyGems": _gem(),
    "Maven": _maven(),
    "Packagist": _maven(),
    "Debian": _debian(),
    "Alpine": _apk(),
}


def _cmp(a: Any, b: Any) -> int:
    return -1 if a < b else (1 if b < a else 0)


@pytest.mark.parametrize("ecosystem", sorted(STRATEGIES))
def test_total_order(ecosystem: str) -> None:
    strategy = STRATEGIES[ecosystem]

    @settings(max_examples=100, deadline=None)
    @given(strategy, strategy, strategy)
    def check(a: str, b: str, c: str) -> None:
        x, y, z = (parse_version(ecosystem, v) for v in (a, b, c))
        # Antisymmetry and totality: exactly one of <, ==, > holds, consistently both ways.
        assert _cmp(x, y) == -_cmp(y, x)
        assert (_cmp(x, y) == 0) == (x == y)
        assert _cmp(x, x) == 0
        # Transitivity.
        if _cmp(x, y) <= 0 and _cmp(y, z) <= 0:
            assert _cmp(x, z) <= 0
        # Equal versions hash equally.
        if x == y:
            assert hash(x) == hash(y)

    check()


KNOWN_ORDER = {
    "PyPI": ["1.0.dev0", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.0.1", "1.10", "2!0.1"],
    "npm": [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.10.0",
        "2.0.0",
    ],
    "crates.io": ["0.9.9", "0.29.0", "1.0.0-rc.1", "1.0.0"],
    "Go": [
        "0.0.0-20191109021931-daa7c04131f5",
        "1.2.3",
        "v1.2.4-0.20191109021931-daa7c04131f5",
        "v1.2.4",
        "v2.2.4+incompatible",
        "2.2.5-rc6.0.20190621200032-0ddffe484adc+incompatible",
        "2.2.5",
    ],
    "RubyGems": ["1.0.a", "1.0.b1", "1.0.pre", "1.0.rc1", "1.0", "1.0.1", "1.1", "1.10"],
    "Maven": [
        "1.0-alpha-1",
        "1.0-alpha2",
        "1.0-beta1",
        "1.0-milestone1",
        "1.0-rc1",
        "1.0-SNAPSHOT",
        "1.0",
        "1.0-sp1",
        "1.0-foo",
        "1.0.1",
        "1.1",
    ],
    "Debian": [
        "1.0~~",
        "1.0~rc1",
        "1.0",
        "1.0-1",
        "1.0-1ubuntu1",
        "1.0a",
        "1.0+b1",
        "1.1",
        "1:0.1",
    ],
    "Alpine": [
        "1.2_alpha1",
        "1.2_beta",
        "1.2_pre1",
        "1.2_rc1",
        "1.2",
        "1.2-r1",
        "1.2_p1",
        "1.2a",
        "1.2.1",
        "1.10",
    ],
}
KNOWN_EQUAL = {
    "PyPI": [("1.0", "1.0.0"), ("1.0RC1", "1.0rc1")],
    "npm": [("v1.2.3", "1.2.3"), ("1.2.3+build", "1.2.3")],
    "Go": [("v1.2.3+incompatible", "1.2.3")],
    "RubyGems": [("1.0", "1.0.0"), ("1.0.a", "1.0.0.a")],
    "Maven": [("1", "1.0.0"), ("1-ga", "1"), ("1.0-final", "1"), ("1-cr1", "1-rc1")],
    "Debian": [("0:1.0", "1.0"), ("1.00", "1.0")],
    "Alpine": [("1.02", "1.02"), ("01.2", "1.2")],
}


@pytest.mark.parametrize("ecosystem", sorted(KNOWN_ORDER))
def test_known_order(ecosystem: str) -> None:
    parsed = [parse_version(ecosystem, v) for v in KNOWN_ORDER[ecosystem]]
    for left, right in itertools.pairwise(parsed):
        assert left < right, (str(left), str(right))


@pytest.mark.parametrize(
    ("ecosystem", "pair"), [(e, p) for e, ps in KNOWN_EQUAL.items() for p in ps]
)
def test_known_equal(ecosystem: str, pair: tuple[str, str]) -> None:
    assert parse_version(ecosystem, pair[0]) == parse_version(ecosystem, pair[1])


@pytest.mark.parametrize(
    ("ecosystem", "text"),
    [
        ("PyPI", "0.7.10p1"),
        ("npm", "1.2"),
        ("npm", "1.2.3-01"),
        ("crates.io", "v1.2.3"),
        ("Go", "go1.21"),
        ("Go", "v1.2.3+meta"),
        ("RubyGems", "1..2"),
        ("Maven", ""),
        ("Maven", "1 0"),
        ("Debian", "a1.0"),
        ("Debian", "x:1.0"),
        ("Debian", "1.0-bad_rev"),
        ("Alpine", "1.2_foo"),
    ],
)
def test_invalid_versions_are_refused(ecosystem: str, text: str) -> None:
    with pytest.raises(
        InvalidVersionError, match=ecosystem if ecosystem != "crates.io" else "crates"
    ):
        parse_version(ecosystem, text)


def test_every_supported_ecosystem_has_a_strategy_or_shares_one() -> None:
    assert set(SUPPORTED_ECOSYSTEMS) - set(STRATEGIES) == {"Ubuntu"}
    assert parse_version("Ubuntu:22.04", "1.0-1ubuntu1") > parse_version("Ubuntu", "1.0-1")
    assert base_ecosystem("Debian:12") == "Debian"


def test_pseudo_versions() -> None:
    assert is_pseudo_version("v0.0.0-20191109021931-daa7c04131f5")
    assert is_pseudo_version("v1.2.4-0.20191109021931-daa7c04131f5")
    assert is_pseudo_version("v2.2.5-rc6.0.20190621200032-0ddffe484adc+incompatible")
    assert not is_pseudo_version("v1.2.4")


def test_name_normalisation() -> None:
    assert normalize_name("PyPI", "Zope.Interface__x") == "zope-interface-x"
    assert normalize_name("npm", "JSONStream") == "jsonstream"
    assert normalize_name("Packagist", "Guzzle/Guzzle") == "guzzle/guzzle"
    assert normalize_name("Go", "github.com/BurntSushi/toml") == "github.com/BurntSushi/toml"


def test_prerelease_flags() -> None:
    from bastion.scanners.sca.versions.rubygems import parse_gem
    from bastion.scanners.sca.versions.semver import parse_semver

    assert parse_semver("1.0.0-rc.1").prerelease
    assert not parse_semver("1.0.0").prerelease
    assert parse_gem("1.0.rc1").prerelease
    assert repr(parse_gem("1.0")) == "GemVersion('1.0')"
