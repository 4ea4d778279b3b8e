"""``cache:`` in the pipeline file: key templates and paths are checked when it loads."""

from __future__ import annotations

import pytest

from bastion.errors import PipelineError
from bastion.pipeline import parse_pipeline
from bastion.pipeline.cache_key import HashFiles, Variable, parse_key_template

_JOB = """\
jobs:
  build:
    steps: [{run: make}]
    cache:
      - key: "%s"
        paths: [%s]
"""


def _load(key: str, path: str = ".cache/pip") -> None:
    parse_pipeline(_JOB % (key, path), source="p.yml")


def test_template_parts() -> None:
    template = parse_key_template("pip-${{ hashFiles('a.txt', \"b/*.lock\") }}-${{ job }}")
    assert template.parts == ("pip-", HashFiles(("a.txt", "b/*.lock")), "-", Variable("job"))
    assert template.substitute({"job": "build"})[-1] == "build"


def test_valid_cache_loads_as_a_list_or_one_mapping() -> None:
    one = "jobs: {b: {steps: [{run: x}], cache: {key: 'k-${{ job }}', paths: .cache}}}"
    job = parse_pipeline(one, source="p.yml").pipeline.jobs["b"]
    assert job.cache[0].paths == [".cache"]
    _load("pip-${{ hashFiles('requirements*.txt') }}")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("pip-${{ github.sha }}", "unknown variable 'github.sha'"),
        ("pip-${{ hashFile('x') }}", "unknown variable"),
        ("pip-${{ matrix.python }}", "unknown variable 'matrix.python'"),
        ("pip ${{ job }}", "character ' ' is not allowed"),
        ("pip-${{ hashFiles('/etc/passwd') }}", "must be relative"),
        ("pip-${{ hashFiles('../x') }}", "leaves the workspace"),
        ("pip-${{ job", "unclosed"),
        (".hidden", "starts with '.'"),
    ],
)
def test_bad_key_is_an_error_at_its_line(key: str, message: str) -> None:
    with pytest.raises(PipelineError) as caught:
        _load(key)
    assert message in caught.value.message
    assert (caught.value.path, caught.value.line, caught.value.column) == ("p.yml", 5, 14)


@pytest.mark.parametrize(
    ("path", "message"),
    [("/root/.cache", "must be relative"), ("../up", "leaves the workspace"), ("a/*", "one")],
)
def test_cache_paths_stay_inside_the_workspace(path: str, message: str) -> None:
    with pytest.raises(PipelineError) as caught:
        _load("k", path)
    assert message in caught.value.diagnostics()
    assert (caught.value.path, caught.value.line) == ("p.yml", 6)
