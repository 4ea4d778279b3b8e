"""Checkov's compiled grammar is cached once on the host and seeded into each scan."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bastion.scanners.iac.grammar_cache import (
    grammar_cache_dir,
    seed_grammar_cache,
    warm_grammar_cache,
)
from bastion.scanners.tools import Tool, ToolEnvironment


def _fake_checkov(tmp_path: Path) -> Path:
    script = tmp_path / "checkov"
    script.write_text(
        "#!/bin/sh\n"
        'test "$USER" = bastion || exit 9\n'
        'echo grammar > "$TMPDIR/.lark_cache_${USER}_abc_3_11.tmp"\n'
        "echo '[]'\n"
    )
    script.chmod(0o755)
    return script


def test_warm_makes_a_root_readable_cache_once(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    warm_grammar_cache(_fake_checkov(tmp_path), cache)
    [made] = cache.iterdir()
    assert made.name == ".lark_cache_bastion_abc_3_11.tmp"
    assert stat.S_IMODE(made.stat().st_mode) == 0o644
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755
    made.write_text("kept")
    warm_grammar_cache(tmp_path / "missing-executable", cache)  # already warm: not run
    assert made.read_text() == "kept"


def test_seed_copies_regular_cache_files_only(tmp_path: Path) -> None:
    cache, scratch = tmp_path / "cache", tmp_path / "scratch"
    cache.mkdir()
    scratch.mkdir()
    (cache / ".lark_cache_bastion_abc_3_11.tmp").write_text("grammar")
    (cache / "other.txt").write_text("no")
    os.symlink("/etc/passwd", cache / ".lark_cache_bastion_evil_3_11.tmp")
    seed_grammar_cache(cache, scratch)
    assert sorted(p.name for p in scratch.iterdir()) == [".lark_cache_bastion_abc_3_11.tmp"]


def test_force_makes_the_cache_afresh(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / ".lark_cache_bastion_old_3_11.tmp").write_text("stale")
    warm_grammar_cache(_fake_checkov(tmp_path), cache, force=True)
    assert [p.name for p in cache.iterdir()] == [".lark_cache_bastion_abc_3_11.tmp"]


def test_each_checkov_environment_has_its_own_cache(tmp_path: Path) -> None:
    env = ToolEnvironment.for_tool(Tool.CHECKOV, tmp_path)
    assert grammar_cache_dir(env) == tmp_path / "cache" / "checkov" / env.spec.env_name
