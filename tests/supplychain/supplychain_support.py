"""Shared supply-chain test helpers: a complete build context and its constants."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bastion.supplychain import BuildContext, GateResult, ResolvedDependency
from bastion.trust import Trust

BUILDER = "https://bastion.example/builder/v1"
REPO = "https://git.example/acme/app"

ContextFactory = Callable[..., BuildContext]


def make_context(**overrides: Any) -> BuildContext:
    """A complete, valid build context; keyword arguments replace fields."""
    fields: dict[str, Any] = {
        "builder_id": BUILDER,
        "build_type": "https://bastion.example/build/pipeline/v1",
        "pipeline_path": ".bastion/pipeline.yml",
        "pipeline_sha256": hashlib.sha256(b"jobs: {}\n").hexdigest(),
        "job": "build",
        "repository": REPO,
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "ref": "refs/heads/main",
        "trigger": "push",
        "trust": Trust.TRUSTED,
        "started": datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        "finished": datetime(2026, 11, 1, 10, 5, tzinfo=UTC),
        "run_id": "run-42",
        "dependencies": (
            ResolvedDependency(
                "requests", "2.32.3", "pkg:pypi/requests@2.32.3", "ab" * 32, "Apache-2.0"
            ),
        ),
        "gates": (GateResult("secrets", "pass", 0), GateResult("sast", "pass", 0)),
    }
    fields.update(overrides)
    return BuildContext(**fields)
