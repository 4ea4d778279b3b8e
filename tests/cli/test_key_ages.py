"""The ages ``bastion keys due`` judges: each of Bastion's keys that exists, from when it
signs; a key not made yet is not listed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bastion.audit import key_path, load_or_create_signer
from bastion.cli.key_ages import key_ages, overdue_keys
from bastion.supplychain import generate_local_key
from bastion.vault import open_identity_issuer

DAY = 86400


def test_no_keys_no_ages(tmp_path: Path) -> None:
    assert key_ages(tmp_path) == []


def test_each_key_is_aged_from_when_it_signs(tmp_path: Path) -> None:
    generate_local_key(tmp_path)
    made = time.time() - 100 * DAY  # an issuer whose key was made 100 days ago
    open_identity_issuer(tmp_path, "https://ci.example", clock=lambda: made, rotate_after=10**9)
    load_or_create_signer(key_path(tmp_path), "bastion.local/audit")
    now = datetime.now(UTC)
    ages = {key.kind: key for key in key_ages(tmp_path)}
    assert list(ages) == ["signing", "oidc", "audit"]
    assert ages["oidc"].age(now) >= 100 * DAY - 5
    assert ages["signing"].age(now) < 60
    assert [k.kind for k in overdue_keys(list(ages.values()), 90 * DAY, now)] == ["oidc"]
    row = ages["oidc"].to_json(now, 90 * DAY)
    assert (row["kind"], row["max_age"]) == ("oidc", "90d")
    assert ages["audit"].since <= now + timedelta(seconds=1)
