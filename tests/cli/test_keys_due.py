"""``bastion keys due [--record]`` (issue 18): Bastion's own keys past their maximum age
are listed (exit 1) and, recorded, raise the monitor's ``key-past-max-age`` alert; after a
rotation the age counts from the new key."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.support import home_env, run_bastion


def _bastion(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_bastion(*args, env=home_env(home), cwd=home)


def test_overdue_keys_are_listed_recorded_and_alerted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert _bastion(home, "keys", "generate").returncode == 0  # signing and audit keys
    fresh = _bastion(home, "keys", "due", "--json")
    assert fresh.returncode == 0, fresh.stderr
    assert json.loads(fresh.stdout) == []
    time.sleep(2.1)
    due = _bastion(home, "keys", "due", "--max-age", "1s", "--record", "--json")
    assert due.returncode == 1, due.stderr
    late = json.loads(due.stdout)
    assert [(k["kind"], k["max_age"]) for k in late] == [("signing", "1s"), ("audit", "1s")]
    db = f"sqlite:///{home / 'audit.db'}"
    evaluated = _bastion(home, "alerts", "evaluate", "--db", db)
    assert evaluated.returncode == 0, evaluated.stderr
    alerts = json.loads(_bastion(home, "alerts", "list", "--db", db, "--json").stdout)
    assert sorted((a["rule"], a["title"]) for a in alerts) == [
        ("key-past-max-age", "the audit key is past its maximum age"),
        ("key-past-max-age", "the signing key is past its maximum age"),
    ]
    assert _bastion(home, "keys", "rotate", "signing").returncode == 0
    time.sleep(1.1)  # the new key past 1 s too (on a fast machine it was not yet: flaky)
    after = _bastion(home, "keys", "due", "--max-age", "1s", "--json")
    ages = {k["kind"]: k for k in json.loads(after.stdout)}
    assert ages["signing"]["key_id"] != late[0]["key_id"]  # a new key, its age from now
    assert ages["signing"]["since"] > late[0]["since"]


def test_a_bad_max_age_is_a_usage_error(tmp_path: Path) -> None:
    done = _bastion(tmp_path, "keys", "due", "--max-age", "often")
    assert done.returncode == 2
    assert "invalid maximum age 'often'" in done.stderr
