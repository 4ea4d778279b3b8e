"""The long form of a `needs:` entry, `{job: build, artifacts: true}`, and its load-time check."""

from __future__ import annotations

import pytest

from bastion.errors import PipelineError
from bastion.pipeline import parse_pipeline, pipeline_json_schema

_BUILD = "  build:\n    steps: [{run: make}]\n"


def _pipeline(build: str, need: str) -> str:
    return f"jobs:\n{build}  publish:\n    needs:\n      - {need}\n    steps: [{{run: ship}}]\n"


def test_long_form_on_a_job_with_artifacts_loads_as_its_name() -> None:
    text = _pipeline(_BUILD + "    artifacts: [dist/*]\n", "{job: build, artifacts: true}")
    loaded = parse_pipeline(text, source="p.yml")
    assert loaded.pipeline.jobs["publish"].needs == ["build"]


def test_long_form_on_a_job_without_artifacts_names_file_line_and_fix() -> None:
    with pytest.raises(PipelineError) as caught:
        parse_pipeline(_pipeline(_BUILD, "{job: build, artifacts: true}"), source="p.yml")
    text = caught.value.diagnostics()
    assert text.startswith("p.yml:6:9: job 'publish' needs the artifacts of 'build'")
    assert "declares no artifacts" in text
    assert "fix: add `artifacts: [<glob>]` to job 'build'" in text
    assert "Traceback" not in text


def test_short_form_on_a_job_without_artifacts_is_only_ordering() -> None:
    loaded = parse_pipeline(_pipeline(_BUILD, "build"), source="p.yml")
    assert loaded.pipeline.jobs["publish"].needs == ["build"]


@pytest.mark.parametrize(
    ("need", "said"),
    [
        ("{job: build, artifacts: false}", "write the job name alone"),
        ("{job: build, files: true}", "files: Extra inputs are not permitted"),
        ("{artifacts: true}", "job: Field required"),
        ("{job: nope, artifacts: true}", "needs 'nope', which is not a job"),
    ],
)
def test_bad_long_forms_are_located(need: str, said: str) -> None:
    build = _BUILD + "    artifacts: [dist/*]\n"
    with pytest.raises(PipelineError) as caught:
        parse_pipeline(_pipeline(build, need), source="p.yml")
    assert caught.value.location().startswith("p.yml:7:")
    assert said in caught.value.diagnostics()


def test_editors_see_the_long_form_in_the_schema() -> None:
    needs = pipeline_json_schema()["$defs"]["Job"]["properties"]["needs"]
    forms = needs["items"]["anyOf"]
    assert {"type": "string"} in forms
    assert any(form.get("properties", {}).get("job") for form in forms)
