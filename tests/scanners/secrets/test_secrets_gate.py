"""The gate end to end: trees (parallel, skips), options, the planted example, no leaks."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest

from bastion.errors import GateError, UsageError
from bastion.scanners.interface import ScanRequest
from bastion.scanners.registry import load_gate
from bastion.scanners.sarif import findings_to_sarif
from bastion.scanners.secrets import ScanMode, SecretsGate, scan_secrets
from bastion.scanners.secrets.samples import render

from .secrets_expected import EXAMPLE, planted_secrets

EXAMPLES = EXAMPLE.parent
PLANTED = planted_secrets()


def _secret_values(root: Path) -> list[str]:
    """The planted values themselves, read back from the example's files."""
    values = []
    for item in PLANTED:
        lines = (root / item.path).read_text().splitlines()
        line = lines[item.line - 1]
        if line.startswith("-----BEGIN"):
            line = lines[item.line]  # a private key's first body line
        values.append(line.split("=", 1)[-1].split("#")[0].strip().strip('"')[-24:])
    return values


def test_registry_loads_the_gate() -> None:
    assert load_gate("secrets").name == "secrets"


def test_every_planted_secret_is_found_and_never_printed() -> None:
    root = EXAMPLES / "vulnerable-service"
    report = SecretsGate().scan(ScanRequest(root=root))
    found = {(f.location.path, f.location.line, f.rule_id) for f in report.findings}
    expected = {(p.path, p.line, p.rule_id) for p in PLANTED}
    assert len(expected) >= 9
    assert found == expected  # every planted secret, and nothing else
    dumped = json.dumps([f.to_dict() for f in report.findings]) + json.dumps(dict(report.facts))
    dumped += json.dumps(findings_to_sarif(list(report.findings))) + "\n".join(report.notes)
    for value in _secret_values(root):
        assert value not in dumped


def test_clean_examples_have_no_findings() -> None:
    clean = [p for p in EXAMPLES.iterdir() if p.is_dir() and p.name != "vulnerable-service"]
    assert clean
    for project in clean:
        assert scan_secrets(project).findings == (), project.name


def test_parallel_tree_scan_and_skip_reasons(tmp_path: Path) -> None:
    rng = random.Random(11)
    tokens = []
    for index in range(300):  # above the in-process limit: forked workers do the reading
        sub = tmp_path / f"pkg{index % 7}"
        sub.mkdir(exist_ok=True)
        body = "def f():\n    return 1\n"
        if index % 50 == 0:
            tokens.append(render("<<gh:ghp_>>", rng))
            body += f'TOKEN = "{tokens[-1]}"\n'
        (sub / f"mod{index}.py").write_text(body)
    (tmp_path / "blob.bin").write_bytes(b"\0" * 10 + render("<<gh:ghp_>>", rng).encode())
    (tmp_path / "bundle.min.js").write_text("x" * 70_000)
    (tmp_path / "big.txt").write_text("y" * 2_000)
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor/lib.py").write_text(f'TOKEN = "{render("<<gh:ghp_>>", rng)}"\n')
    os.symlink(tmp_path / "pkg0/mod0.py", tmp_path / "link.py")
    (tmp_path / ".git").mkdir()
    report = scan_secrets(
        tmp_path, options={"jobs": 2, "max_file_size": 1_500, "exclude": ["vendor/*"]}
    )
    assert [f.rule_id for f in report.findings] == ["github-pat"] * len(tokens)
    skipped = report.facts["skipped"]
    assert skipped["binary (NUL byte in the first 8 KiB)"] == 1
    assert skipped["larger than 1500 bytes"] == 2  # big.txt, and the minified bundle
    assert skipped["excluded by pattern"] == 1
    assert skipped["symlink (not followed)"] == 1
    assert skipped["VCS metadata directory"] == 1
    assert any("binary" in note for note in report.notes)
    assert report.facts["files_scanned"] == 300


def test_minified_files_are_skipped_and_reported(tmp_path: Path) -> None:
    (tmp_path / "app.min.js").write_text("var a=1;" * 10_000)
    report = scan_secrets(tmp_path)
    assert report.facts["skipped"] == {"minified (mean line over 500 bytes)": 1}


def test_dropped_candidates_are_recorded_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "settings.py").write_text(
        'AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\npassword = "${DB_PASSWORD}x"\n'
    )
    report = scan_secrets(tmp_path)
    assert report.findings == ()
    reasons = [d["reason"] for d in report.facts["dropped"]]
    assert any("documentation example" in r for r in reasons)
    assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(report.facts["dropped"])


def test_fingerprint_is_stable_across_moves(tmp_path: Path) -> None:
    token = render("<<gh:ghp_>>", random.Random(9))
    (tmp_path / "a.py").write_text(f'T = "{token}"\n')
    first = scan_secrets(tmp_path).findings[0]
    (tmp_path / "a.py").rename(tmp_path / "b.py")
    (tmp_path / "b.py").write_text(f'\n\n    token = "{token}"\n')
    moved = scan_secrets(tmp_path).findings[0]
    assert moved.fingerprint == first.fingerprint
    assert moved.location.line == 3


@pytest.mark.parametrize(
    "options",
    [
        {"bogus": 1},
        {"exclude": "vendor"},
        {"jobs": -1},
        {"max_file_size": 0},
        {"mode": "nope"},
        {"mode": "history", "since": 3},
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(UsageError):
        SecretsGate().scan(ScanRequest(root=tmp_path, options=options))


def test_missing_root_is_a_gate_error(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="not a directory"):
        scan_secrets(tmp_path / "absent")


def test_since_mode_needs_a_ref(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs a ref"):
        scan_secrets(tmp_path, mode=ScanMode.SINCE)


def test_a_fingerprint_suppression_follows_the_secret(tmp_path: Path) -> None:
    import datetime as dt

    from bastion.policy.suppressions import load_suppressions

    token = render("<<gh:ghp_>>", random.Random(13))
    (tmp_path / "one.py").write_text(f'T = "{token}"\n')
    finding = scan_secrets(tmp_path).findings[0]
    rules = tmp_path / "suppressions.yml"
    rules.write_text(
        "suppressions:\n"
        f"  - fingerprint: {finding.fingerprint}\n"
        "    owner: sec@example.org\n    reason: revoked, kept as a fixture\n"
        "    expires: 2999-01-01\n"
    )
    (tmp_path / "one.py").rename(tmp_path / "two.py")
    moved = scan_secrets(tmp_path, options={"exclude": ["*.yml"]}).findings[0]
    match = load_suppressions(rules).match(moved, dt.date(2026, 1, 1))
    assert match.active is not None


def test_noise_corpus_has_no_findings_and_says_why() -> None:
    """Lock files, templating, placeholders, example keys and credential-handling code."""
    corpus = Path(__file__).resolve().parents[2] / "data" / "secrets" / "noise"
    report = scan_secrets(corpus)
    assert report.findings == (), [str(f.location) for f in report.findings]
    reasons = {d["path"]: d["reason"] for d in report.facts["dropped"]}
    assert "lock file" in reasons["package-lock.json"]
    assert "placeholder" in reasons["settings.example.env"]


def test_passwords_holding_a_digit_run_are_reported(tmp_path: Path) -> None:
    """Issue 23: a value merely containing ``1234`` is a password, not a placeholder."""
    (tmp_path / "main.tf").write_text(
        'resource "azurerm_mssql_server" "db" {\n'
        '  administrator_login          = "sqladmin"\n'
        '  administrator_login_password = "Zq9#Lm2x1234Vt"\n'
        "}\n"
    )
    (tmp_path / "settings.py").write_text('DB_PASSWORD = "Aa12345678"\n')
    report = scan_secrets(tmp_path)
    assert sorted(str(f.location) for f in report.findings) == ["main.tf:3", "settings.py:1"]
