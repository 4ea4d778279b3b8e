"""Matrix jobs: expansion at plan time, references, `needs:` on a matrix job, and every error
located at its file, line and column."""

from __future__ import annotations

import pytest

from bastion.errors import PipelineError
from bastion.pipeline import (
    MAX_MATRIX_JOBS,
    Pipeline,
    job_file_name,
    parse_pipeline,
    plan_pipeline,
)

MATRIX = """\
jobs:
  lint: {steps: [{run: lint}]}
  test:
    needs: [lint]
    matrix:
      python: ["3.11", "3.12"]
      os: [debian, alpine]
      exclude: [{python: "3.11", os: alpine}]
      include: [{python: "3.13", os: debian}]
    env: {TAG: "py${{ matrix.python }}"}
    working-directory: "src/${{ matrix.os }}"
    steps:
      - name: test on ${{ matrix.os }}
        run: echo ${{matrix.python}} ${{ github.sha }}
        env: {OS: "${{ matrix.os }}"}
        working-directory: "py${{ matrix.python }}"
  build: {needs: [test], steps: [{run: build}]}
"""


def _error(text: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        parse_pipeline(text, source="p.yml")
    return caught.value


def test_expands_one_job_per_combination_in_declared_order() -> None:
    plan = plan_pipeline(parse_pipeline(MATRIX, source="p.yml").pipeline)
    expanded = (
        "test (3.11, debian)",
        "test (3.12, debian)",
        "test (3.12, alpine)",
        "test (3.13, debian)",
    )
    assert plan.order == ("lint", *expanded, "build")
    assert plan.groups["test"] == expanded
    assert plan.needs("build") == expanded
    assert plan.needs("test (3.12, alpine)") == ("lint",)
    assert plan.origin("test (3.13, debian)") == "test"
    assert plan.origin("lint") == "lint"


def test_references_are_filled_in_and_matrix_env_is_set() -> None:
    job = plan_pipeline(parse_pipeline(MATRIX, source="p.yml").pipeline).jobs["test (3.12, alpine)"]
    assert job.matrix is None
    assert job.env == {"TAG": "py3.12", "MATRIX_PYTHON": "3.12", "MATRIX_OS": "alpine"}
    assert job.working_directory == "src/alpine"
    step = (job.steps or [])[0]
    assert step.name == "test on alpine"
    # Only matrix references are ours; any other expression is left as written.
    assert step.run == "echo 3.12 ${{ github.sha }}"
    assert step.env == {"OS": "alpine"}
    assert step.working_directory == "py3.12"


def test_selecting_a_matrix_job_selects_every_expansion_and_its_needs() -> None:
    plan = plan_pipeline(parse_pipeline(MATRIX, source="p.yml").pipeline)
    only = plan.only(["test"])
    assert only.order == ("lint", *plan.groups["test"])
    assert set(only.groups) == {"lint", "test"}
    one = plan.only(["test (3.12, alpine)"])
    assert one.order == ("lint", "test (3.12, alpine)")
    assert one.groups["test"] == ("test (3.12, alpine)",)
    assert plan.resolve("nope") == ()


def test_scalars_become_text_like_env() -> None:
    text = "jobs:\n  t:\n    matrix: {n: [1, 2.5, true]}\n    steps: [{run: x}]\n"
    plan = plan_pipeline(parse_pipeline(text, source="p.yml").pipeline)
    assert plan.groups["t"] == ("t (1)", "t (2.5)", "t (true)")


def test_jobs_without_matrix_are_unchanged() -> None:
    loaded = parse_pipeline("jobs: {a: {steps: [{run: x}]}}", source="p.yml")
    plan = plan_pipeline(loaded.pipeline)
    assert plan.jobs["a"] is loaded.pipeline.jobs["a"]
    assert plan.groups == {"a": ("a",)}


@pytest.mark.parametrize(
    ("matrix", "where", "message"),
    [
        ("{python: []}", "3:22", "matrix variable 'python' has no values"),
        ("{python: [[1]]}", "3:23", "must be a string, number or boolean, not list"),
        ("{python: [{a: 1}]}", "3:23", "must be a string, number or boolean, not dict"),
        ("{python: [~]}", "3:23", "not nothing (null)"),
        ("{python: [a, a]}", "3:26", "lists 'a' twice"),
        ("{python: [a/b]}", "3:23", "may not contain '/'"),
        ('{python: ["a\\u202eb"]}', "3:23", "control or invisible formatting"),
        ("{python: ['  ']}", "3:23", "a matrix value is empty"),
        ("{bad-name: [a]}", "3:14", "'bad-name' is not a matrix variable name"),
        ("{py: [a], PY: [b]}", "3:23", "would both set MATRIX_PY"),
        ("{include: [{py: a}]}", "3:13", "declares no variable"),
        ("{py: [a], exclude: [{os: b}]}", "3:34", "'os' is not a variable of this job's matrix"),
        ("{py: [a], exclude: [{py: b}]}", "3:33", "entry 0 matches no combination"),
        ("{py: [a], exclude: [{py: a}]}", "3:13", "removes every combination"),
        ("{py: [a], exclude: [{}]}", "3:33", "non-empty mapping"),
        ("{py: [a], os: [b], include: [{py: c}]}", "3:42", "gives no value for os"),
        ("{py: [a], include: [{py: a}]}", "3:33", "repeats a combination"),
    ],
)
def test_matrix_mistakes_are_located(matrix: str, where: str, message: str) -> None:
    error = _error(f"jobs:\n  t:\n    matrix: {matrix}\n    steps: [{{run: x}}]\n")
    assert f"p.yml:{where}: jobs.t.matrix" in error.diagnostics()
    assert message in error.diagnostics()
    assert "fix: " in error.diagnostics()
    assert error.exit_code == 2


def test_more_than_the_limit_is_refused_before_expanding() -> None:
    values = ", ".join(str(i) for i in range(MAX_MATRIX_JOBS + 1))
    error = _error(f"jobs:\n  t:\n    matrix: {{n: [{values}]}}\n    steps: [{{run: x}}]\n")
    assert "p.yml:3:13: jobs.t.matrix: matrix expands to 257 combinations" in error.diagnostics()


def test_a_huge_cross_product_is_refused_without_enumerating_it() -> None:
    ten = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
    variables = ", ".join(f"v{i}: {ten}" for i in range(12))  # 10**12 combinations
    error = _error(f"jobs:\n  t:\n    matrix: {{{variables}}}\n    steps: [{{run: x}}]\n")
    assert "matrix expands to 1000000000000 combinations" in error.message


def test_exactly_the_limit_is_accepted() -> None:
    values = ", ".join(str(i) for i in range(16))
    text = f"jobs:\n  t:\n    matrix: {{a: [{values}], b: [{values}]}}\n    steps: [{{run: x}}]\n"
    plan = plan_pipeline(parse_pipeline(text, source="p.yml").pipeline)
    assert len(plan.groups["t"]) == MAX_MATRIX_JOBS


def test_a_too_long_expanded_name_is_refused() -> None:
    values = ", ".join(f"{'x' * 60}{i}: [{'v' * 60}]" for i in range(4))
    error = _error(f"jobs:\n  t:\n    matrix: {{{values}}}\n    steps: [{{run: x}}]\n")
    assert "is longer than 200 bytes" in error.message


def test_unknown_variable_reference_is_located() -> None:
    error = _error(
        "jobs:\n  t:\n    matrix: {python: [a]}\n    steps:\n      - run: echo ok\n"
        "        env: {V: '${{ matrix.pyhton }}'}\n"
    )
    assert error.location() == "p.yml:6:18"
    assert "names 'pyhton', which is not a variable" in error.message
    assert error.hint == "the matrix variables are: python"


def test_reference_in_a_job_without_matrix_is_located() -> None:
    error = _error(
        "jobs:\n  t:\n    working-directory: '${{ matrix.os }}'\n    steps: [{run: x}]\n"
    )
    assert error.location() == "p.yml:3:24"
    assert "this job has no `matrix:`" in error.message


def test_malformed_matrix_reference_is_refused() -> None:
    error = _error("jobs:\n  t:\n    matrix: {a: [b]}\n    steps: [{run: 'echo ${{ matrix }}'}]\n")
    assert "'${{ matrix }}' is not a matrix reference" in error.message


def test_a_gate_job_cannot_have_a_matrix() -> None:
    error = _error("jobs:\n  s:\n    uses: bastion/secrets\n    matrix: {a: [b]}\n")
    assert error.location() == "p.yml:4:5"
    assert "a gate job (`uses:`) runs once" in error.message


def test_matrix_must_map_to_lists() -> None:
    error = _error("jobs:\n  t:\n    matrix: {python: '3.11'}\n    steps: [{run: x}]\n")
    assert error.location() == "p.yml:3:22"


def test_a_pipeline_built_in_code_is_checked_when_planned() -> None:
    pipeline = Pipeline.model_validate(
        {"jobs": {"t": {"matrix": {"a": []}, "steps": [{"run": "x"}]}}}
    )
    with pytest.raises(PipelineError, match=r"jobs\.t\.matrix\.a: matrix variable 'a'"):
        plan_pipeline(pipeline, source="code")


def test_working_directory_is_checked_after_substitution() -> None:
    error = _error(
        "jobs:\n  t:\n    matrix: {d: [src, '..']}\n    steps:\n"
        "      - run: x\n        working-directory: '${{ matrix.d }}/..'\n"
    )
    assert error.location() == "p.yml:6:28"
    assert "working directory '../..' climbs out of the workspace" in error.message


@pytest.mark.parametrize(
    "name", ["test (3.11, debian)", "t (../../etc)", "t (a\\b)", "..", "t (" + "x" * 300 + ")"]
)
def test_job_file_names_are_one_safe_component(name: str) -> None:
    file_name = job_file_name(name)
    assert "/" not in file_name
    assert file_name not in ("", ".", "..")
    assert not file_name.startswith(".")
    assert len(file_name.encode()) <= 100
    assert job_file_name(name) == file_name


def test_job_file_names_keep_plain_names_and_never_collide() -> None:
    assert job_file_name("build.x-1") == "build.x-1"
    assert job_file_name("t (a b)") != job_file_name("t (a-b)")
    assert job_file_name("t (a b)").startswith("t-a-b-")
