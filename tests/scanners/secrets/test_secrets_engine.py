"""The engine's compiled-database cache and the module entry point."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bastion.scanners.secrets.__main__ import main
from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.engine import Engine, _load_cached, relax_pattern
from bastion.scanners.secrets.samples import render

# bastion:allow secret-database-url-password a made-up value for these tests
TEXT = b"x = 'postgres://app:Zq8vL2pW9xR4@db:5432/app'\n"


def _expressions() -> list[bytes]:
    return [relax_pattern(rule.scan_pattern).encode() for rule in load_rules()]


def test_cache_round_trip_gives_the_same_results(tmp_path: Path) -> None:
    cold = Engine(load_rules(), cache_dir=tmp_path / "cache")
    files = list((tmp_path / "cache").glob("secrets-*.hsdb"))
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o077 == 0
    assert _load_cached(_expressions(), tmp_path / "cache") is not None
    warm = Engine(load_rules(), cache_dir=tmp_path / "cache")
    assert [c.rule.id for c in warm.candidates(TEXT)] == [c.rule.id for c in cold.candidates(TEXT)]


def test_cache_writable_by_others_or_corrupt_is_ignored(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    Engine(load_rules(), cache_dir=cache)
    path = next(cache.glob("secrets-*.hsdb"))
    path.chmod(0o666)
    assert _load_cached(_expressions(), cache) is None
    path.chmod(0o600)
    path.write_bytes(b"not a database")
    assert _load_cached(_expressions(), cache) is None
    assert Engine(load_rules(), cache_dir=cache).candidates(TEXT)  # recompiled and rewritten


def test_unwritable_cache_only_costs_a_compile(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    engine = Engine(load_rules(), cache_dir=blocker / "sub")
    assert engine.candidates(TEXT)


def test_main_prints_redacted_json_and_exit_codes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = render("<<gh:ghp_>>", random.Random(1))
    (tmp_path / "a.py").write_text(f'T = "{token}"\n')
    assert main([str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert token not in out
    assert json.loads(out)["findings"][0]["rule_id"] == "github-pat"
    (tmp_path / "a.py").write_text("nothing here\n")
    assert main([str(tmp_path), "--jobs", "1"]) == 0
    assert main([str(tmp_path), "--history"]) == 2
    assert "not a git repository" in capsys.readouterr().err
    assert main([str(tmp_path / "missing")]) == 1
    assert main([str(tmp_path), "--staged"]) == 2
    assert main([str(tmp_path), "--since", "main"]) == 2


def test_default_cache_dir_needs_an_absolute_base(monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.scanners.secrets.engine import default_cache_dir

    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/x")
    assert default_cache_dir() == Path("/var/cache/x/bastion")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")
    monkeypatch.setenv("HOME", "/home/u")
    assert default_cache_dir() == Path("/home/u/.cache/bastion")
    monkeypatch.delenv("HOME")
    assert default_cache_dir() is None
