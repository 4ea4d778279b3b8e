"""The parts of a repository the secrets gate can scan."""

from __future__ import annotations

import enum

__all__ = ["ScanMode"]


class ScanMode(enum.StrEnum):
    """What the secrets gate scans.

    ``tree``: the files on disk. ``history``: every commit of every ref. ``staged``: the index
    (pre-commit). ``since``: the commits in ``REF..HEAD`` (a pull request). ``patch``: a saved
    ``git log -p``/``git diff`` stream in the tree (see :func:`write_git_patch`), for running
    the git modes in a sandbox whose workspace has no ``.git``.
    """

    TREE = "tree"
    HISTORY = "history"
    STAGED = "staged"
    SINCE = "since"
    PATCH = "patch"
