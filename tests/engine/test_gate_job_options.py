"""A gate job's ``with:`` keys are checked against the gate, located in the file (issue 23:
``with: {excludes: …}`` on the SCA gate was accepted and ignored)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.engine import LocalRunOptions, prepare_run
from bastion.engine.gate_job_options import check_gate_job_options
from bastion.errors import PipelineError
from bastion.pipeline import parse_pipeline

_PIPELINE = """\
jobs:
  deps:
    uses: bastion/sca
    with:
      exclude: [tests]
      excludes: [docs]
  secrets:
    uses: bastion/secrets
"""


def test_an_unknown_with_key_is_located_with_a_did_you_mean() -> None:
    loaded = parse_pipeline(_PIPELINE, source=".bastion/pipeline.yml")
    with pytest.raises(PipelineError) as caught:
        check_gate_job_options(loaded)
    error = caught.value
    assert (error.path, error.line, error.column) == (".bastion/pipeline.yml", 6, 7)
    assert "jobs.deps.with: bastion/sca: unknown option 'excludes'" in error.message
    assert error.hint is not None
    assert error.hint.startswith("did you mean 'exclude'?")
    assert error.exit_code == 2
    assert ".bastion/pipeline.yml:6:7" in error.diagnostics()


def test_known_keys_pass() -> None:
    check_gate_job_options(parse_pipeline(_PIPELINE.replace("excludes", "database"), source="p"))


def test_a_run_refuses_the_pipeline_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / ".bastion").mkdir()
    (tmp_path / ".bastion" / "pipeline.yml").write_text(_PIPELINE)
    with pytest.raises(PipelineError, match="unknown option 'excludes'"):
        prepare_run(LocalRunOptions(project=tmp_path))
