"""The scope matrix: repository, branch, tag, environment and trust level."""

from __future__ import annotations

import pytest

from bastion.errors import VaultError
from bastion.trust import Trust
from bastion.vault import DEFAULT_TRUST, RequestContext, Scope

from .vault_support import context

_MAIN = Scope.build(branches=["main", "release/*"], trust=["trusted"])
_TAGS = Scope.build(tags=["v*"], trust=["release"])
_PROD = Scope.build(environments=["production"], trust=["trusted", "release"])
_REPO = Scope.build(repos=["acme/*"], trust=["internal", "trusted"])
_LOCAL = Scope.build(trust=["local"])
_ANY = Scope.build()


@pytest.mark.parametrize(
    ("scope", "ctx", "problem"),
    [
        (_MAIN, context(), None),
        (_MAIN, context(ref="refs/heads/release/1.2/fix"), None),
        (_MAIN, context(ref="refs/heads/feature/x"), "branch 'feature/x' does not match"),
        (_MAIN, context(ref="refs/tags/v1.0"), "tag 'v1.0' does not match"),
        (_MAIN, context(ref=None), "the run has no branch or tag"),
        (_MAIN, context(ref="refs/pull/3/head"), "neither a branch nor a tag"),
        (_MAIN, context(trust=Trust.INTERNAL), "trust level 'internal' is not one of"),
        (_MAIN, context(trust=Trust.UNTRUSTED), "trust level 'untrusted'"),
        (_TAGS, context(ref="refs/tags/v2.0.1", trust=Trust.RELEASE), None),
        (_TAGS, context(ref="refs/tags/nightly", trust=Trust.RELEASE), "tag 'nightly'"),
        (_TAGS, context(ref="refs/tags/v2", trust=Trust.TRUSTED), "trust level"),
        (_PROD, context(environment="production"), None),
        (_PROD, context(environment="staging"), "environment 'staging' is not one of"),
        (_PROD, context(environment=None), "environment 'no environment'"),
        (_REPO, context(trust=Trust.INTERNAL), None),
        (_REPO, context(repo="evil/api"), "repository 'evil/api' does not match"),
        (_ANY, context(ref=None, environment="anything"), None),
        (_ANY, context(trust=Trust.INTERNAL), "trust level 'internal'"),
        (_ANY, context(trust=Trust.LOCAL), "trust level 'local' is not one of"),
        (_ANY, context(trust=Trust.DIRTY), "trust level 'dirty' is not one of"),
        (_LOCAL, context(trust=Trust.LOCAL), None),
        (_LOCAL, context(trust=Trust.DIRTY), "trust level 'dirty' is not one of"),
    ],
)
def test_scope_matrix(scope: Scope, ctx: RequestContext, problem: str | None) -> None:
    found = scope.mismatch(ctx)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_untrusted_can_never_be_in_scope() -> None:
    with pytest.raises(VaultError, match="untrusted runs never receive secrets"):
        Scope.build(trust=["untrusted"])
    with pytest.raises(VaultError, match="at least one trust level"):
        Scope(trust=frozenset())


def test_bad_patterns_and_levels() -> None:
    with pytest.raises(VaultError, match="unknown trust level 'admin'") as info:
        Scope.build(trust=["admin"])
    assert info.value.hint is not None
    assert "internal" in info.value.hint
    with pytest.raises(VaultError, match="empty branch pattern"):
        Scope.build(branches=[" "])
    with pytest.raises(VaultError, match="whitespace"):
        Scope.build(repos=["a b"])


def test_json_round_trip_is_canonical() -> None:
    scope = Scope.build(repos=["b", "a", "a"], tags=["v*"], trust=["release", "trusted"])
    data = scope.to_json()
    assert data["repos"] == ["a", "b"]
    assert Scope.from_json(data) == scope
    assert Scope.build().trust == DEFAULT_TRUST


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"repos": []},
        {"repos": "x", "branches": [], "tags": [], "environments": [], "trust": ["trusted"]},
        {"repos": [], "branches": [1], "tags": [], "environments": [], "trust": ["trusted"]},
    ],
)
def test_malformed_stored_scope(data: object) -> None:
    with pytest.raises(VaultError, match="malformed"):
        Scope.from_json(data)


def test_an_empty_stored_trust_set_does_not_widen() -> None:
    data: dict[str, list[str]] = {
        "repos": [],
        "branches": [],
        "tags": [],
        "environments": [],
        "trust": [],
    }
    with pytest.raises(VaultError, match="untrusted"):
        Scope.from_json(data)
