"""Load-time path checks: artifacts, working directories and tool directories are refused at
their file, line and column before anything runs (regressions: `/etc/passwd` as an artifact
was a NotImplementedError traceback, `../../etc/passwd` passed silently, `../..` and `/root`
failed only when the job ran)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.errors import PipelineError
from bastion.host_paths import ALWAYS_DENIED, NEVER_INSIDE
from bastion.pipeline import parse_pipeline

HOME = Path("/srv/bastion-home")


def _error(job: str) -> PipelineError:
    with pytest.raises(PipelineError) as caught:
        parse_pipeline(f"jobs:\n  t:\n{job}", source="p.yml", home=HOME)
    assert caught.value.exit_code == 2
    assert "fix: " in caught.value.diagnostics()
    return caught.value


def _accepted(job: str) -> None:
    parse_pipeline(f"jobs:\n  t:\n{job}", source="p.yml", home=HOME)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("/etc/passwd", "is absolute"),
        ("../../etc/passwd", "climbs out of the workspace"),
        ("dist/../../x", "climbs out of the workspace"),
        ("**/../x", "climbs out of the workspace"),
        ("./..", "climbs out of the workspace"),
        ("", "is empty"),
    ],
)
def test_artifact_patterns_outside_the_workspace_are_refused(pattern: str, message: str) -> None:
    error = _error(f"    steps: [{{run: x}}]\n    artifacts: [ok/*, '{pattern}']\n")
    assert error.location() == "p.yml:4:23"
    assert error.message.startswith("jobs.t.artifacts.1: ")
    assert message in error.message


@pytest.mark.parametrize("pattern", ["dist/*.whl", "dist/../build/*", "**/*.tar.gz", "a/b/../.."])
def test_artifact_patterns_inside_the_workspace_are_accepted(pattern: str) -> None:
    _accepted(f"    steps: [{{run: x}}]\n    artifacts: ['{pattern}']\n")


@pytest.mark.parametrize(
    ("directory", "message"),
    [("../..", "climbs out of the workspace"), ("/tmp", "is absolute"), ("a/../../b", "climbs")],
)
def test_job_working_directory_must_stay_in_the_workspace(directory: str, message: str) -> None:
    error = _error(f"    working-directory: '{directory}'\n    steps: [{{run: x}}]\n")
    assert error.location() == "p.yml:3:24"
    assert message in error.message


def test_step_working_directory_must_stay_in_the_workspace() -> None:
    error = _error("    steps:\n      - run: x\n        working-directory: ../x\n")
    assert error.location() == "p.yml:5:28"
    assert error.message.startswith("jobs.t.steps.0.working-directory: ")


def test_working_directories_inside_the_workspace_are_accepted() -> None:
    _accepted("    working-directory: src/..\n    steps: [{run: x, working-directory: a/b}]\n")


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ("/", "would expose the whole host filesystem"),
        ("/root", "contains /root"),
        ("/home", "contains /home"),
        ("/var", "contains /var"),
        ("/opt/../root", "contains /root"),
        ("//root", "contains /root"),
        ("/proc/self", "lies in /proc"),
        ("/sys", "lies in /sys"),
        ("/dev/shm", "lies in /dev"),
        ("/run/docker", "lies in /run"),
        ("/srv", "contains /srv/bastion-home"),
        ("/srv/bastion-home/tools/semgrep", "lies in /srv/bastion-home"),
        ("/opt/x/.ssh", "goes through .ssh, a key store"),
    ],
)
def test_tool_directories_the_sandbox_hides_are_refused(tool: str, message: str) -> None:
    error = _error(f"    steps: [{{run: x}}]\n    tools: [/opt/node, '{tool}']\n")
    assert error.location() == "p.yml:4:24"
    assert error.message.startswith("jobs.t.tools.1: ")
    assert message in error.message


def test_lists_come_from_the_one_definition_the_sandbox_uses() -> None:
    from bastion.sandbox import paths

    assert paths.ALWAYS_DENIED is ALWAYS_DENIED
    assert paths.NEVER_INSIDE is NEVER_INSIDE


@pytest.mark.parametrize("tool", ["/opt/node", "/usr/lib/jvm", "/root/.pyenv/versions/3.12.3"])
def test_tool_directories_below_hidden_ones_are_accepted(tool: str) -> None:
    # As in the sandbox: a subdirectory of /root makes only that subtree visible.
    _accepted(f"    steps: [{{run: x}}]\n    tools: ['{tool}']\n")


def test_every_problem_of_a_file_is_reported() -> None:
    error = _error(
        "    working-directory: ../..\n    tools: [/root]\n    artifacts: [/etc/passwd]\n"
        "    steps: [{run: x}]\n"
    )
    lines = error.diagnostics().splitlines()
    assert [line.split(": ")[0] for line in lines if not line.startswith(" ")] == [
        "p.yml:5:17",
        "p.yml:3:24",
        "p.yml:4:13",
    ]
