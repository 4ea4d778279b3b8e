"""``bastion secrets set --max-age``, ``rotate`` and ``due [--record]`` through the installed
command, up to the monitor's ``secret-past-max-age`` alert; values never shown or logged."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from tests.support import home_env, run_bastion

VALUE = "kT9vQ2xLmP4wZ8rN-rotation-one"
NEW_VALUE = "Zq7Rw3Ys8Vt2Ux6P-rotation-two"


def _bastion(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    result = run_bastion(*args, env=home_env(home), cwd=home, stdin=stdin)
    assert VALUE not in result.stdout + result.stderr
    assert NEW_VALUE not in result.stdout + result.stderr
    return result


def _events(home: Path) -> list[dict[str, object]]:
    exported = _bastion(home, "audit", "export", "--db", f"sqlite:///{home / 'audit.db'}")
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    return [json.loads(line["body"]) for line in lines if line["type"] == "event"]


def test_schedule_due_record_rotate_and_alert(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    stored = _bastion(home, "secrets", "set", "NPM_TOKEN", "--max-age", "1s", stdin=VALUE)
    assert stored.returncode == 0, stored.stderr
    other = _bastion(home, "secrets", "set", "OTHER", "--max-age", "90d", stdin=NEW_VALUE)
    assert other.returncode == 0, other.stderr
    time.sleep(2.1)
    due = _bastion(home, "secrets", "due", "--record", "--json")
    assert due.returncode == 1, due.stderr
    [late] = json.loads(due.stdout)
    assert (late["name"], late["max_age"]) == ("NPM_TOKEN", "1s")
    db = f"sqlite:///{home / 'audit.db'}"
    evaluated = _bastion(home, "alerts", "evaluate", "--db", db)
    assert evaluated.returncode == 0, evaluated.stderr
    alerts = json.loads(_bastion(home, "alerts", "list", "--db", db, "--json").stdout)
    assert [(a["rule"], a["title"]) for a in alerts] == [
        ("secret-past-max-age", "secret NPM_TOKEN is past its maximum age")
    ]
    rotated = _bastion(home, "secrets", "rotate", "NPM_TOKEN", "--json", stdin=NEW_VALUE + "\n")
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["version"] == 2
    assert json.loads(rotated.stdout)["max_age"] == "1s"
    assert json.loads(rotated.stdout)["rotated"] > late["rotated"]
    events = _events(home)
    assert [(e["action"], e["subject"]) for e in events] == [
        ("secret.overdue", "secret/NPM_TOKEN"),
        ("secret.rotated", "secret/NPM_TOKEN"),
    ]
    assert VALUE not in json.dumps(events)
    assert NEW_VALUE not in json.dumps(events)


def test_rotate_refusals_exit_codes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    missing = _bastion(home, "secrets", "rotate", "NOPE", stdin=VALUE)
    assert missing.returncode == 2, missing.stderr
    assert "no secret named 'NOPE'" in missing.stderr
    assert _bastion(home, "secrets", "set", "TOKEN", stdin=VALUE).returncode == 0
    same = _bastion(home, "secrets", "rotate", "TOKEN", stdin=VALUE)
    assert same.returncode == 2
    assert "is the current one" in same.stderr
    bad = _bastion(home, "secrets", "set", "TOKEN", "--max-age", "soon", stdin=VALUE)
    assert bad.returncode == 2
    assert "invalid maximum age" in bad.stderr
    listed = json.loads(_bastion(home, "secrets", "list", "--json").stdout)
    assert [(s["name"], s["version"], s["max_age"]) for s in listed] == [("TOKEN", 1, None)]
