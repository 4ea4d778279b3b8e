"""The one trust enum and run context: stored names, what each level may do, parsing."""

from __future__ import annotations

import pytest

from bastion.trust import RunContext, Trust


def test_stored_names_never_change() -> None:
    # Run records, provenance, vault files and audit events hold these strings.
    assert [str(level) for level in Trust] == [
        "untrusted",
        "internal",
        "trusted",
        "release",
        "local",
        "dirty",
    ]


@pytest.mark.parametrize("level", list(Trust))
def test_each_level_has_its_rights(level: Trust) -> None:
    signs = {Trust.TRUSTED, Trust.RELEASE, Trust.LOCAL}
    deploys = {Trust.TRUSTED, Trust.RELEASE}
    assert level.signs is (level in signs)
    assert level.receives_secrets is (level is not Trust.UNTRUSTED)
    assert level.deploys_protected is (level in deploys)


def test_context_parses_a_level_name_and_refuses_an_unknown_one() -> None:
    context = RunContext("demo", None, None, "push", "release")  # type: ignore[arg-type]
    assert context.trust is Trust.RELEASE
    with pytest.raises(ValueError, match="root"):
        RunContext("demo", None, None, "push", "root")  # type: ignore[arg-type]


def test_policy_input_has_a_string_ref() -> None:
    detached = RunContext("demo", "c0ffee", None, "push", Trust.LOCAL).to_dict()
    assert detached == {
        "repo": "demo",
        "ref": "",
        "trust": "local",
        "event": "push",
        "commit": "c0ffee",
    }


def test_every_package_speaks_the_same_enum() -> None:
    from bastion.engine.model import RunContext as EngineContext
    from bastion.engine.model import Trust as EngineTrust
    from bastion.policy import RunContext as PolicyContext

    assert EngineTrust is Trust
    assert EngineContext is RunContext
    assert PolicyContext is RunContext
