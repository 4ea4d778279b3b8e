"""Every gate declares its option keys and refuses any other one with a did-you-mean.

Issue 23: the SCA gate accepted ``--option sca.bogus=1`` and ``with: {excludes: …}``
silently while the other gates refused them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.scanners.gate_options import UnknownOptionError, check_option_keys, did_you_mean
from bastion.scanners.interface import GateName, ScanRequest
from bastion.scanners.registry import load_gate


@pytest.mark.parametrize("name", list(GateName))
def test_every_gate_declares_its_keys_and_refuses_others(name: GateName) -> None:
    gate = load_gate(name)
    assert gate.option_keys, f"bastion/{name} declares no option keys"
    assert gate.list_option_keys <= gate.option_keys
    gate.check_options(dict.fromkeys(gate.option_keys))  # every declared key passes
    with pytest.raises(UnknownOptionError) as caught:
        gate.check_options({"bogus": 1})
    assert caught.value.key == "bogus"
    assert caught.value.exit_code == 2
    assert f"bastion/{name}: unknown option 'bogus'" in caught.value.message


def test_a_near_miss_gets_a_did_you_mean_and_the_list() -> None:
    with pytest.raises(UnknownOptionError) as caught:
        load_gate("sca").check_options({"excludes": ["tests"]})
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("did you mean 'exclude'?")
    assert "require_database" in caught.value.hint


def test_a_far_miss_lists_the_keys_only() -> None:
    assert did_you_mean("zzz", ["exclude"]) is None
    with pytest.raises(UnknownOptionError) as caught:
        check_option_keys("x", {"zzz": 1}, frozenset({"exclude"}))
    assert caught.value.hint == "options of bastion/x: exclude"


def test_the_sca_gate_refuses_an_unknown_key_when_scanning(tmp_path: Path) -> None:
    # In the sandbox too, for a caller that skipped the host-side check.
    (tmp_path / "requirements.txt").write_text("requests==2.19.1\n")
    gate = load_gate("sca")
    with pytest.raises(UnknownOptionError, match="unknown option 'excludes'"):
        gate.scan(ScanRequest(root=tmp_path, options={"excludes": ["x"]}))
