"""Paths a job names, checked when the file is loaded rather than when the job runs.

* ``artifacts:`` globs are matched inside the workspace: one that is absolute, or whose
  ``..`` segments can climb above the workspace root, can only point outside it.
* ``working-directory:`` (job and step) is relative to the workspace and stays inside it.
* ``tools:`` are host directories bound read-only; the rules are the sandbox's
  (:mod:`bastion.host_paths`): never ``/``, never a directory that contains ``/root``,
  ``/home``, ``/var`` or the Bastion home, nothing inside ``/proc``, ``/sys``, ``/dev``,
  ``/run`` or the Bastion home, nothing through a key store such as ``.ssh``. A directory
  below ``/root`` or ``/home`` (``/root/.pyenv/versions/3.12.3``) is allowed, as the sandbox
  allows it: only that subtree becomes visible.

These checks are lexical (the file may be loaded on a machine other than the one that runs
it); the sandbox checks the resolved paths again when it binds them.
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path, PurePosixPath

from bastion.host_paths import ALWAYS_DENIED, NEVER_INSIDE, SECRET_DIR_NAMES
from bastion.pipeline.problems import JobProblem, Where
from bastion.pipeline.schema import Job

__all__ = ["path_problems"]

_RELATIVE_HINT = "write a path relative to the repository root, e.g. dist/*.whl"


def path_problems(job: Job, *, home: Path) -> list[JobProblem]:
    """Every artifact pattern, working directory and tool directory of ``job`` that is unsafe.

    ``home`` is the Bastion home, which no job may see.
    """
    problems: list[JobProblem] = []
    for index, pattern in enumerate(job.artifacts):
        message = _artifact_problem(pattern)
        if message is not None:
            problems.append(JobProblem(("artifacts", index), message, _RELATIVE_HINT))
    places: list[tuple[Where, str]] = [(("working-directory",), job.working_directory)]
    for index, step in enumerate(job.steps or ()):
        if step.working_directory is not None:
            places.append((("steps", index, "working-directory"), step.working_directory))
    for where, directory in places:
        message = _working_directory_problem(directory)
        if message is not None:
            hint = "name a directory of the repository, e.g. `working-directory: src`"
            problems.append(JobProblem(where, message, hint))
    for index, tool in enumerate(job.tools):
        found = _tool_problem(tool, home)
        if found is not None:
            problems.append(JobProblem(("tools", index), *found))
    return problems


def _climbs_out(relative: str) -> bool:
    """Whether ``..`` segments can take ``relative`` above its root.

    ``**`` may match no directory at all, so it is counted as zero levels: the check holds
    for every path a glob can match.
    """
    depth = 0
    for part in relative.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", ".", "**"):
            depth += 1
    return False


def _artifact_problem(pattern: str) -> str | None:
    if not pattern.strip():
        return "an artifact pattern is empty"
    if "\x00" in pattern:
        return "an artifact pattern contains a NUL character"
    if pattern.startswith("/"):
        return f"artifact pattern '{pattern}' is absolute; artifacts come from the workspace"
    if _climbs_out(pattern):
        return f"artifact pattern '{pattern}' climbs out of the workspace with '..'"
    return None


def _working_directory_problem(directory: str) -> str | None:
    if "\x00" in directory:
        return "a working directory contains a NUL character"
    if directory.startswith("/"):
        return f"working directory '{directory}' is absolute; it is relative to the workspace"
    if _climbs_out(directory):
        return f"working directory '{directory}' climbs out of the workspace with '..'"
    return None


def _within(path: PurePosixPath, parent: PurePosixPath) -> bool:
    return path == parent or parent in path.parents


def _tool_problem(tool: str, home: Path) -> tuple[str, str] | None:
    """(message, hint) when ``tool`` may not be bound into a job, else ``None``."""
    if "\x00" in tool or not tool.startswith("/"):
        return f"tool directory {tool!r} is not an absolute host path", "give a full path"
    # Lexically normal: `/opt/../root` and `//root` are `/root`.
    path = PurePosixPath(posixpath.normpath("/" + tool.lstrip("/")))
    if path == PurePosixPath("/"):
        return (
            f"tool directory '{tool}' would expose the whole host filesystem",
            "name the directory the tool lives in, e.g. /opt/node",
        )
    bastion = PurePosixPath(posixpath.normpath(os.path.abspath(home)))
    for denied in (*(PurePosixPath(p) for p in ALWAYS_DENIED), bastion):
        if _within(denied, path):
            return (
                f"tool directory '{tool}' contains {denied}, which no job may see",
                f"bind only the subdirectory the job needs, not {denied} itself",
            )
    for tree in (*(PurePosixPath(p) for p in NEVER_INSIDE), bastion):
        if _within(path, tree):
            return (
                f"tool directory '{tool}' lies in {tree}, which no job may reach into",
                "install the tool elsewhere, e.g. under /opt, and name that directory",
            )
    secret = SECRET_DIR_NAMES.intersection(path.parts)
    if secret:
        return (
            f"tool directory '{tool}' goes through {sorted(secret)[0]}, a key store",
            "name a directory that holds no keys",
        )
    return None
