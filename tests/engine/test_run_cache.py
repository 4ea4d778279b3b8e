"""``bastion run`` with a job cache, real bubblewrap and real git, run after run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import git, home_env, run_bastion

pytestmark = pytest.mark.integration

_PIPELINE = """\
jobs:
  build:
    steps:
      - run: |
          if [ -f .cache/data/hello ]; then echo "RESTORED $(cat .cache/data/hello)"
          else mkdir -p .cache/data && echo world > .cache/data/hello && echo COLD; fi
    cache: {key: "data-${{ job }}-${{ hashFiles('requirements*.txt') }}", paths: [.cache/data]}
"""


def _log(project: Path, run: int) -> str:
    return (project / f".bastion/state/logs/{run}/build.log").read_text()


def test_second_run_sees_the_cache_and_a_poisoned_entry_is_dropped(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".bastion").mkdir(parents=True)
    (project / ".bastion/pipeline.yml").write_text(_PIPELINE)
    (project / "requirements.txt").write_text("requests==2.32.3\n")
    (project / ".gitignore").write_text(".bastion/state\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "init")
    env = home_env(tmp_path / "home")

    for run, expected in ((1, "COLD"), (2, "RESTORED world")):
        done = run_bastion("run", "-C", str(project), env=env)
        assert done.returncode == 0, done.stderr
        assert expected in _log(project, run)
    [entry] = (tmp_path / "home/cache/jobs/local").glob("*/objects/*")

    data = bytearray(entry.read_bytes())
    data[-40] ^= 0x01  # the cached file's bytes
    entry.write_bytes(bytes(data))
    done = run_bastion("run", "-C", str(project), env=env)
    assert done.returncode == 0, done.stderr
    assert "WARNING: entry data-build-" in _log(project, 3)
    assert "COLD" in _log(project, 3)
    audit = run_bastion("audit", "export", "-C", str(project), env=env)
    assert '\\"action\\":\\"cache.poisoned\\"' in audit.stdout


def test_a_dirty_run_never_feeds_a_committed_run(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".bastion").mkdir(parents=True)
    (project / ".bastion/pipeline.yml").write_text(_PIPELINE)
    (project / ".gitignore").write_text(".bastion/state\n")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "init")
    env = home_env(tmp_path / "home")
    (project / "untracked.txt").write_text("uncommitted: this run is dirty\n")
    dirty = run_bastion("run", "-C", str(project), env=env)
    assert dirty.returncode == 0
    assert "trust dirty" in dirty.stdout + dirty.stderr
    assert "saved data-build-" in _log(project, 1)
    (project / "untracked.txt").unlink()
    local = run_bastion("run", "-C", str(project), env=env)
    assert local.returncode == 0
    assert "trust local" in local.stdout + local.stderr
    assert "COLD" in _log(project, 2)  # the dirty run's entry is not in the local namespace
