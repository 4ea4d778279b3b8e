"""Every class of pipeline-file error names file, line and column and says how to fix it."""

from __future__ import annotations

import pytest

from bastion.errors import PipelineError
from bastion.pipeline import parse_pipeline, plan_pipeline
from bastion.pipeline.yaml_loader import LoadLimits, load_yaml

SOURCE = ".bastion/pipeline.yml"


def _load_and_plan(text: str | bytes) -> None:
    plan_pipeline(parse_pipeline(text, source=SOURCE).pipeline, source=SOURCE)


def _error(text: str | bytes) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        _load_and_plan(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "line", "column", "message", "hint"),
    [
        (
            "jobs:\n  a:\n    stepz:\n      - run: ls\n",
            3,
            5,
            "unknown key 'stepz'",
            "did you mean 'steps'",
        ),
        (
            "jobs:\n  a:\n    steps:\n      - run: ls\n        nmae: x\n",
            5,
            9,
            "unknown key 'nmae'",
            "did you mean 'name'",
        ),
        (
            "on: {pus: {}}\njobs: {a: {steps: [{run: ls}]}}\n",
            1,
            6,
            "unknown key 'pus'",
            "did you mean 'push'",
        ),
        (
            "jobs:\n  a:\n    steps: [{run: ls}]\n    limits: {memroy: 1G}\n",
            4,
            14,
            "unknown key 'memroy'",
            "did you mean 'memory'",
        ),
        (
            "jobs:\n  a:\n    steps:\n      - name: x\n",
            4,
            9,
            "missing required key 'run'",
            "bastion schema",
        ),
        ("jobs:\n  a:\n    steps: [{run: ls}]\n    timeout: soon\n", 4, 14, "not a duration", None),
        ("jobs:\n  a:\n    uses: sast\n", 3, 11, "not a built-in gate", None),
        ("jobs:\n  a: {}\n", 2, 6, "either `steps:` or `uses:", None),
        (
            "jobs:\n  a:\n    steps: [{run: ls}]\n    needs: [bb]\n  b:\n    steps: [{run: ls}]\n",
            4,
            13,
            "needs 'bb'",
            "did you mean 'b'",
        ),
        ("jobs:\n  a:\n    steps: [{run: ls}]\n    needs: a\n", 4, 12, "needs itself", None),
        (
            "jobs:\n  a:\n    steps: [{run: ls}]\n  a:\n    steps: [{run: ls}]\n",
            4,
            3,
            "duplicate key 'a'",
            "merge",
        ),
        ("jobs:\n  a:\n    steps: [{run: ls}]\n  :\n", 4, 3, "invalid YAML", "indentation"),
        (
            "jobs:\n  a:\n    steps: [{run: ls}]\n    secrets: [lower]\n",
            4,
            14,
            "not a secret name",
            None,
        ),
        (
            'jobs:\n  a:\n    steps: [{run: ls}]\n    network: ["bad host!"]\n',
            4,
            14,
            "not a host name",
            None,
        ),
        (
            "jobs:\n  a:\n    steps: [{run: ls}]\n    env: {1BAD: x}\n",
            4,
            10,
            "not a valid environment variable",
            None,
        ),
        (
            "jobs: {a: {steps: [{run: !!python/object:os.system x}]}}\n",
            1,
            26,
            "unsupported YAML value",
            None,
        ),
        ("- just\n- a list\n", 1, 1, "a mapping with a `jobs:` key", "bastion schema"),
        ("jobs:\n  a:\n    steps: []\n", 3, 5, "steps:` is empty", None),
        (
            "jobs:\n  a:\n    steps: [{run: ls}]\n    with: {x: 1}\n",
            3,
            5,
            "`with:` only applies",
            None,
        ),
        ("jobs:\n  'bad name!':\n    steps: [{run: ls}]\n", 2, 3, "not a job name", None),
    ],
)
def test_error_names_location_and_fix(
    text: str, line: int, column: int, message: str, hint: str | None
) -> None:
    error = _error(text)
    assert error.path == SOURCE
    assert (error.line, error.column) == (line, column), error.diagnostics()
    assert message in error.diagnostics()
    if hint is not None:
        assert hint in (error.hint or "")
    assert error.exit_code == 2


def test_cycle_is_named() -> None:
    text = (
        "jobs:\n  a: {needs: [c], steps: [{run: x}]}\n  b: {needs: [a], steps: [{run: x}]}\n"
        "  c: {needs: [b], steps: [{run: x}]}\n  d: {steps: [{run: x}]}\n"
    )
    error = _error(text)
    assert "cycle: a -> c -> b -> a" in error.message
    assert "remove one" in (error.hint or "")


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    error = _error("\n".join(lines) + "\n")
    assert "expands to more than" in error.message


def test_too_large_and_too_deep() -> None:
    with pytest.raises(PipelineError, match="more than the limit"):
        load_yaml(b"a: " + b"x" * 2000, source=SOURCE, limits=LoadLimits(max_bytes=1000))
    deep = "a: " + "[" * 40 + "]" * 40
    with pytest.raises(PipelineError, match="nesting deeper"):
        load_yaml(deep, source=SOURCE)


def test_not_utf8() -> None:
    error = _error(b"jobs: {a: {steps: [{run: \xff}]}}")
    assert "not UTF-8" in error.message


def test_several_problems_are_all_reported() -> None:
    error = _error("jobs:\n  a:\n    stepz: 1\n    needz: 2\n")
    text = error.diagnostics()
    assert "stepz" in text
    assert "needz" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # A name ending in a newline: it would reach log and socket file names and split
        # the console's "[job] passed" lines (Python's `$` matches before a final newline).
        ('jobs:\n  "evil\\n":\n    steps: [{run: ls}]\n', "not a job name"),
        (
            'jobs:\n  a:\n    env: {"X\\n": "1"}\n    steps: [{run: ls}]\n',
            "not a valid environment",
        ),
        ('jobs:\n  a:\n    secrets: ["TOKEN\\n"]\n    steps: [{run: ls}]\n', "not a secret name"),
        ('jobs:\n  a:\n    network: ["pypi.org\\n"]\n    steps: [{run: ls}]\n', "not a host name"),
        ('jobs:\n  a:\n    uses: "bastion/secrets\\n"\n', "not a built-in gate"),
    ],
)
def test_names_with_a_trailing_newline_are_refused(text: str, message: str) -> None:
    error = _error(text)
    assert message in error.diagnostics()
    assert error.exit_code == 2
