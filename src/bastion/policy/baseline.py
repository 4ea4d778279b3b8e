"""Baselines: the fingerprints of an earlier scan, so only new findings can block.

A baseline file is any of:

- a JSON list of fingerprint strings;
- a JSON report of ``bastion scan --format json`` (``{"findings": [{"fingerprint": ...}]}``);
- a SARIF log whose results carry ``partialFingerprints["bastion/v1"]`` (``--format sarif``).

A file that is none of these, or a SARIF result without our fingerprint, is a
:class:`PolicyError`: guessing would let old findings pass as known or new ones as old.
(``--baseline REF``, a git ref, is scanned by the engine; see ``bastion.engine.gate_scan``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.errors import PolicyError

__all__ = ["BASTION_SARIF_FINGERPRINT", "Baseline", "load_baseline_file"]

# Same key as bastion.scanners.sarif.FINGERPRINT_KEY; policy is a leaf package.
BASTION_SARIF_FINGERPRINT = "bastion/v1"
_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Baseline:
    """Known fingerprints and where they came from (a file, or ``git:REF``)."""

    fingerprints: frozenset[str]
    source: str

    @classmethod
    def of(cls, fingerprints: Iterable[str], source: str) -> Baseline:
        """A baseline from fingerprints in memory."""
        return cls(frozenset(fingerprints), source)

    def is_new(self, fingerprint: str) -> bool:
        """True when ``fingerprint`` was not in the baseline."""
        return fingerprint not in self.fingerprints


def load_baseline_file(path: Path) -> Baseline:
    """Read a baseline file in any of the three accepted forms."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            raise PolicyError(f"{path}: baseline is larger than 256 MiB")
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: baseline file not found") from exc
    except json.JSONDecodeError as exc:
        raise PolicyError(
            f"{path}:{exc.lineno}:{exc.colno}: baseline is not JSON: {exc.msg}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read baseline: {exc}") from exc
    return Baseline.of(_fingerprints(doc, str(path)), str(path))


def _fingerprints(doc: Any, where: str) -> list[str]:
    if isinstance(doc, list):
        return [_string(item, f"{where}: item {i}") for i, item in enumerate(doc)]
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list):
        return _sarif_fingerprints(doc["runs"], where)
    if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
        return [
            _string(f.get("fingerprint") if isinstance(f, dict) else None, f"{where}: finding {i}")
            for i, f in enumerate(doc["findings"])
        ]
    raise PolicyError(
        f"{where}: not a baseline (expected a list of fingerprints, a `bastion scan` JSON "
        "report or a SARIF log)",
        hint="make one with `bastion scan --format json --output baseline.json`",
    )


def _sarif_fingerprints(runs: list[Any], where: str) -> list[str]:
    found: list[str] = []
    for run_no, run in enumerate(runs):
        results = run.get("results", []) if isinstance(run, dict) else None
        if not isinstance(results, list):
            raise PolicyError(f"{where}: runs[{run_no}] has no results list")
        for res_no, result in enumerate(results):
            partial = result.get("partialFingerprints") if isinstance(result, dict) else None
            value = partial.get(BASTION_SARIF_FINGERPRINT) if isinstance(partial, dict) else None
            if not isinstance(value, str) or not value:
                raise PolicyError(
                    f"{where}: runs[{run_no}].results[{res_no}] has no Bastion fingerprint",
                    hint="use SARIF written by `bastion scan --format sarif` as a baseline",
                )
            found.append(value)
    return found


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: a fingerprint must be a non-empty string")
    return value
