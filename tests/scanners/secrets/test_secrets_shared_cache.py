"""The host compiles the rules once; sandboxed scans load that database read-only."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bastion.scanners.secrets import engine as engine_module
from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.engine import Engine, prepare_shared_cache, shared_cache_dir
from bastion.scanners.secrets.gate import SecretsGate


def test_prepared_cache_is_readable_by_job_uids_and_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = prepare_shared_cache(load_rules(), tmp_path)
    assert cache == shared_cache_dir(tmp_path)
    [database] = cache.glob("secrets-*.hsdb")
    assert stat.S_IMODE(database.stat().st_mode) == 0o644
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755

    compiled: list[int] = []
    real_compile = engine_module._compile

    def counting_compile(*args: object, **kwargs: object) -> object:
        compiled.append(1)
        return real_compile(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "_compile", counting_compile)
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    engine = Engine.default()
    assert compiled == []  # loaded, not compiled
    assert engine.rules


def test_a_writable_cache_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = prepare_shared_cache(load_rules(), tmp_path)
    [database] = cache.glob("secrets-*.hsdb")
    database.chmod(0o666)  # anyone could have swapped it
    compiled: list[int] = []
    real_compile = engine_module._compile

    def counting_compile(*args: object, **kwargs: object) -> object:
        compiled.append(1)
        return real_compile(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine_module, "_compile", counting_compile)
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    Engine.default()
    assert compiled == [1]


def test_gate_prepares_and_binds_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASTION_HOME", str(tmp_path))
    gate = SecretsGate()
    assert gate.required_binds() == []
    gate.prepare()
    assert gate.required_binds() == [shared_cache_dir(tmp_path)]
