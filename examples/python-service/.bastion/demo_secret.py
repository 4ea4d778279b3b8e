"""Give the demo its publish token: a fresh random PUBLISH_TOKEN in the vault, if needed.

    .venv/bin/python examples/python-service/.bastion/demo_secret.py [--repo GLOB]

A real project stores the token its registry issued (``bastion secrets set PUBLISH_TOKEN``,
value on stdin). The demo has no registry account, so it makes a random token, scoped to
this project (or the repositories ``--repo`` matches, e.g. copies of it made by tests) and to
local runs (trust ``local`` and ``dirty``) only. An existing token keeps its value; its scope
is widened to this project if needed. The value is never printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from bastion.engine.git_context import read_git_state
from bastion.store import find_repo_root
from bastion.home import bastion_home
from bastion.trust import Trust
from bastion.vault import Scope, open_default_vault

NAME = "PUBLISH_TOKEN"
LOCAL_RUNS = ("local", "dirty")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", help="repository glob (default: this project)")
    args = parser.parse_args()
    root = find_repo_root(Path(__file__).resolve().parent.parent)
    # The same repository identity as `bastion run` gives the run (remote URL, else path).
    repo = args.repo or read_git_state(root, None).remote or str(root)
    vault = open_default_vault(bastion_home(os.environ), os.environ)
    if NAME not in {info.name for info in vault.list()}:
        vault.set(NAME, secrets.token_urlsafe(32), Scope.build(repos=[repo], trust=LOCAL_RUNS))
        print(f"stored a new random {NAME} for {repo}, local runs only", file=sys.stderr)
        return 0

    def widened(scope: Scope) -> Scope:
        repos = scope.repos if not scope.repos or repo in scope.repos else (*scope.repos, repo)
        return Scope(
            repos=repos,
            branches=scope.branches,
            tags=scope.tags,
            environments=scope.environments,
            trust=scope.trust | {Trust(level) for level in LOCAL_RUNS},
        )

    vault.update_scope(NAME, widened)  # keeps the value; a no-op when already in scope
    print(f"{NAME} is in the vault and released to {repo} (local runs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
