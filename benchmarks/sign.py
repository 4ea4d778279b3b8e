"""SBOM + provenance + signatures per artifact, against ``cyclonedx-py environment`` alone.

Builds the example service's artifact (``dist/inventory-service.pyz``, as its pipeline
does), then times, on the same Python environment (this venv):

- bastion: ``attest_artifacts`` in-process: store the blob, inventory the environment's
  installed packages, write CycloneDX 1.6 and SPDX 2.3, the SLSA provenance, and sign the
  three DSSE envelopes with a local ECDSA P-256 key;
- peer: ``cyclonedx-py environment --sv 1.6 --no-validate <python>`` (CycloneDX only, no
  signature, its schema validation off as ours is off at run time), a process
  per run as users run it; the bare interpreter start-up is printed for reference.

Prints medians side by side. ``--runs N`` (default 15).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bastion.supplychain import (
    BuildContext,
    GateResult,
    LocalBlobStore,
    attest_artifacts,
    load_local_signer,
)
from bastion.trust import Trust

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "python-service"
CYCLONEDX_PY = str(Path(sys.executable).with_name("cyclonedx-py"))


def build_artifact(out: Path) -> Path:
    """The example's artifact, built the way its pipeline builds it."""
    target = out / "dist" / "inventory-service.pyz"
    target.parent.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "zipapp",
            str(EXAMPLE / "src"),
            "-m",
            "inventory.server:main",
            "-p",
            "/usr/bin/env python3",
            "-o",
            str(target),
        ],
        check=True,
    )
    return target


def context(site_packages: str) -> BuildContext:
    """A build context like the engine's for the example's build job."""
    pipeline = (EXAMPLE / ".bastion" / "pipeline.yml").read_bytes()
    now = datetime.now(UTC)
    return BuildContext(
        builder_id="https://bastion.local/builder/v1",
        build_type="https://bastion.local/build/pipeline/v1",
        pipeline_path=".bastion/pipeline.yml",
        pipeline_sha256=hashlib.sha256(pipeline).hexdigest(),
        job="build",
        repository=str(EXAMPLE),
        commit="0" * 40,
        ref="refs/heads/main",
        trigger="push",
        trust=Trust.LOCAL,
        started=now,
        finished=now,
        run_id="bench",
        gates=(GateResult("secrets", "pass", 0), GateResult("sast", "pass", 0)),
        site_packages=(site_packages,),
    )


def timed(runs: int, action: Callable[[], object]) -> list[float]:
    """Wall-clock seconds of each run of ``action``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    """Run the comparison and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    site = sysconfig.get_paths()["purelib"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        artifact = build_artifact(root)
        store = LocalBlobStore(root / "artifacts")
        signer = load_local_signer(root / "home", create=True).signer
        ctx = context(site)
        [first] = attest_artifacts(store, [artifact], ctx, signer)
        components = len(first.cyclonedx.payload)
        ours = timed(args.runs, lambda: attest_artifacts(store, [artifact], ctx, signer))
        peer = timed(
            args.runs,
            lambda: subprocess.run(
                [
                    CYCLONEDX_PY,
                    "environment",
                    "--sv",
                    "1.6",
                    "--no-validate",
                    "--of",
                    "JSON",
                    "-o",
                    str(root / "peer.json"),
                    sys.executable,
                ],
                check=True,
                capture_output=True,
            ),
        )
        startup = timed(
            args.runs, lambda: subprocess.run([sys.executable, "-c", "pass"], check=True)
        )
    print(f"artifact: {artifact.name}; environment: {site}")
    print(f"signed CycloneDX statement: {components} bytes; runs: {args.runs}")
    rows = [
        ("bastion attest (store+CycloneDX+SPDX+SLSA+3 ECDSA sigs)", ours),
        ("cyclonedx-py environment (CycloneDX only, own process)", peer),
        ("python -c pass (process start-up, for reference)", startup),
    ]
    print(f"{'what':<58}{'median ms':>10}")
    for label, samples in rows:
        print(f"{label:<58}{statistics.median(samples) * 1000:>10.1f}")


if __name__ == "__main__":
    main()
