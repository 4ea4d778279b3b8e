"""Alert texts are masked with the vault's current values (issue 16): a secret set after the
masker was made is hidden from its next use; the values never appear in a stored alert."""

from __future__ import annotations

from pathlib import Path

from bastion.monitor import AlertStore, Severity, Signal, VaultMasker
from bastion.store import open_database
from bastion.vault import Scope, open_default_vault

FIRST = "zq7-Kestrel-umbra-4410-vantage"
LATER = "Plover-8813-quartz-nimbus-x"


def test_alerts_are_masked_with_the_vaults_current_values(tmp_path: Path) -> None:
    vault = open_default_vault(tmp_path / "home", {})
    masker = VaultMasker(vault)
    assert masker.mask(b"nothing stored yet") == b"nothing stored yet"
    vault.set("DEPLOY_TOKEN", FIRST, Scope.build(trust=["trusted"]))
    assert FIRST.encode() not in masker.mask(f"token={FIRST}".encode())
    open_default_vault(tmp_path / "home", {}).set("LATER", LATER, Scope.build(trust=["trusted"]))
    assert LATER.encode() not in masker.mask(f"and {LATER}".encode())
    db = open_database("sqlite://")
    store = AlertStore(db)
    signal = Signal("pipeline-changed", Severity.HIGH, f"saw {FIRST}", f"and {LATER}", "k")
    with db.session() as session:
        store.open_signals(session, [signal], masker)
    stored = store.list()[0]
    assert FIRST not in stored.title
    assert LATER not in stored.detail
    assert "***" in stored.title
