"""The GitOps manifest: what an environment should run, as committed to the repository.

One small JSON document per environment (default path ``envs/<env>/app.yaml``; JSON is
valid YAML)::

    {"environment": "staging", "digest": "sha256:...", "artifact": "service.pyz",
     "strategy": "canary", "steps": [10, 50, 100],
     "verification": {"verified": true, "checks": ["signature", ...]}}

Read back from a repository it is untrusted input: :meth:`Manifest.from_bytes` refuses
unknown keys and wrong types, and the digest and strategy are parsed, not passed on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bastion.deploy.interface import GitOpsRefusedError, Strategy
from bastion.supplychain import ArtifactStoreError, ArtifactVerificationReport, Digest, parse_digest

__all__ = ["Manifest", "default_manifest_path"]

_KEYS = {"environment", "digest", "artifact", "strategy", "steps", "verification"}


def default_manifest_path(environment: str) -> str:
    """Where an environment's manifest lives in the repository unless told otherwise."""
    return f"envs/{environment}/app.yaml"


def _refuse(detail: str) -> GitOpsRefusedError:
    return GitOpsRefusedError(
        f"GitOps manifest refused: bad-manifest: {detail}", reason="bad-manifest"
    )


@dataclass(frozen=True)
class Manifest:
    """An environment, the digest it should run, how to roll it out, how it was verified."""

    environment: str
    digest: Digest
    artifact: str
    strategy: Strategy
    steps: tuple[int, ...]
    verification: dict[str, Any]

    @classmethod
    def from_report(
        cls,
        environment: str,
        artifact: str,
        strategy: Strategy,
        steps: tuple[int, ...],
        report: ArtifactVerificationReport,
    ) -> Manifest:
        """The manifest of a digest that just passed admission."""
        if report.digest is None or not report.ok:
            raise _refuse("only a verified digest is published")
        summary = {"verified": True, "checks": [c.name for c in report.checks]}
        return cls(environment, report.digest, artifact, strategy, steps, summary)

    def to_bytes(self) -> bytes:
        """The committed form: sorted, indented JSON with a final newline."""
        data = {
            "environment": self.environment,
            "digest": self.digest,
            "artifact": self.artifact,
            "strategy": self.strategy.value,
            "steps": list(self.steps),
            "verification": self.verification,
        }
        return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Parse a manifest read from the repository; GitOpsRefusedError if malformed."""
        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _refuse(f"not JSON: {exc}") from exc
        if not isinstance(doc, dict) or set(doc) != _KEYS:
            raise _refuse(f"expected exactly the keys {sorted(_KEYS)}")
        steps = doc["steps"]
        if not isinstance(steps, list) or not all(type(s) is int for s in steps):
            raise _refuse("steps must be a list of integers")
        texts = (doc["environment"], doc["digest"], doc["artifact"], doc["strategy"])
        if not all(isinstance(t, str) for t in texts) or not isinstance(doc["verification"], dict):
            raise _refuse("environment, digest, artifact, strategy must be strings")
        try:
            digest = parse_digest(doc["digest"])
            strategy = Strategy(doc["strategy"])
        except (ArtifactStoreError, ValueError) as exc:
            raise _refuse(str(exc)) from exc
        return cls(
            doc["environment"], digest, doc["artifact"], strategy, tuple(steps), doc["verification"]
        )
