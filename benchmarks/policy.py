"""Policy and report cost as findings grow, and ``bastion scan --gate sca`` end to end.

    .venv/bin/python benchmarks/policy.py [--runs 5] [--skip-scan]

Prints, side by side in one run (medians of ``--runs``):

1. the policy step (:func:`bastion.engine.gates.evaluate_gates`: suppressions, baseline and
   the Rego decision with Bastion's default policy) for 100, 1,000 and 10,000 findings, and
   the findings per second it judges (target: at least 20,000/s);
2. writing the SARIF report of those findings to a file, the way ``bastion scan --format
   sarif -o FILE`` writes it;
3. ``bastion scan --gate sca --format sarif -o FILE`` end to end (CLI start-up, the gate in
   its bubblewrap sandbox, policy, report) on a generated ``requirements.txt`` of 2,000
   pinned packages with about 4,000 advisories (target: at most 1 s). The advisories are
   OSV records generated in a temporary folder, shaped like the PyPA records in
   ``../shared/data/osv/pypa`` (ECOSYSTEM ranges, ``versions`` lists, CVE aliases, CVSS v3
   vectors), and imported with ``bastion db import`` into a temporary ``BASTION_HOME``.

The findings of 1 and 2 are synthetic SCA findings with the properties the SCA gate gives
its own (so the JSON per finding is as large as a real one).
"""

# ruff: noqa: E402 - the imports after the sys.path fix below must come after it
from __future__ import annotations

import os
import sys

# Running this file puts benchmarks/ on sys.path, where benchmarks/secrets.py would shadow
# the standard library's ``secrets`` that the engine imports.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]

import argparse
import functools
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bastion.cli.scan import OutputFormat, write_report
from bastion.engine.gates import GateDecision, GateOutcome, evaluate_gates
from bastion.policy import PolicyEngine, RunContext
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.interface import GateReport

__all__ = ["main"]

SIZES = (100, 1_000, 10_000)
PACKAGES = 2_000
BASTION = Path(sys.executable).with_name("bastion")
# One CVSS v3.1 vector per severity, so the generated advisories cover every level.
_VECTORS = (
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",  # 9.8 critical
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",  # 7.5 high
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N",  # 5.4 medium
    "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N",  # 3.1 low
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N",  # 0.0 none (info)
)
_SEVERITIES = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)


def _median(action: Callable[[], object], runs: int) -> float:
    """Median wall seconds of ``runs`` calls of ``action`` after one warm-up call."""
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_findings(count: int) -> tuple[Finding, ...]:
    """``count`` SCA-like findings spread over every severity, as the SCA gate shapes them."""
    findings = []
    for i in range(count):
        package, advisory = f"bench-pkg-{i // 2:05d}", f"PYSEC-BENCH-{i:05d}"
        findings.append(
            Finding.create(
                gate="sca",
                rule_id=advisory,
                severity=_SEVERITIES[i % len(_SEVERITIES)],
                message=f"{package} 1.0.0 (direct) is affected by {advisory}: benchmark flaw",
                location=Location("requirements.txt", i // 2 + 1),
                match_key=f"{advisory}|PyPI|{package}|1.0.0",
                title="benchmark flaw",
                ids=(advisory, f"CVE-2099-{i:05d}"),
                fix=f"upgrade {package} to 2.0.0",
                properties={
                    "ecosystem": "PyPI",
                    "package": package,
                    "version": "1.0.0",
                    "relation": "direct",
                    "records": [advisory],
                    "affected_ranges": ["ECOSYSTEM: introduced 0, fixed 2.0.0"],
                    "fixed_version": "2.0.0",
                    "severity_source": "CVSS 3.1 base score",
                    "cvss_vector": _VECTORS[i % len(_VECTORS)],
                },
            )
        )
    return tuple(findings)


def _decide(engine: PolicyEngine, findings: tuple[Finding, ...]) -> GateDecision:
    report = GateReport("sca", findings, facts={"database_age_days": 3})
    context = RunContext(repo="bench", ref="refs/heads/main", trust="trusted", event="check")
    return evaluate_gates([GateOutcome("sca", report=report)], context, engine)


def measure_sizes(runs: int, work: Path) -> list[tuple[int, float, float]]:
    """(findings, policy seconds, SARIF-writing seconds) per size in :data:`SIZES`."""
    engine = PolicyEngine.load(None)
    rows = []
    for size in SIZES:
        findings = synthetic_findings(size)
        result = _decide(engine, findings)
        if result.allowed or len(result.findings) != size:
            raise RuntimeError(f"the default policy should block {size} findings")
        policy_s = _median(functools.partial(_decide, engine, findings), runs)
        target = work / f"report-{size}.sarif"
        write_s = _median(
            functools.partial(write_report, result, OutputFormat.SARIF, target, work), runs
        )
        rows.append((size, policy_s, write_s))
    return rows


def _osv_record(index: int, package: str) -> dict[str, object]:
    """One OSV record shaped like the PyPA database's (see ``../shared/data/README.md``)."""
    advisory = f"PYSEC-2099-{index:05d}"
    return {
        "id": advisory,
        "summary": f"Benchmark flaw {index} in {package}",
        "details": f"A generated advisory for {package}, for benchmarks/policy.py only.",
        "aliases": [f"CVE-2099-{index:05d}", f"GHSA-bnch-{index:04x}-xxxx"],
        "modified": "2024-10-01T00:00:00Z",
        "published": "2024-09-01T00:00:00Z",
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI", "purl": f"pkg:pypi/{package}"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}
                ],
                "versions": ["0.9.0", "1.0.0", "1.1.0"],
            }
        ],
        "severity": [{"type": "CVSS_V3", "score": _VECTORS[index % len(_VECTORS)]}],
        "references": [{"type": "WEB", "url": f"https://example.org/advisories/{advisory}"}],
    }


def write_scan_fixture(work: Path) -> tuple[Path, int]:
    """OSV records and a 2,000-package ``requirements.txt``; returns (project, advisories).

    Packages get 1, 3, 2, 2 advisories in turn: 2 on average, about 4,000 in all.
    """
    records, project = work / "osv-records", work / "project"
    records.mkdir()
    project.mkdir()
    lines, index = ["# generated by benchmarks/policy.py"], 0
    for i in range(PACKAGES):
        package = f"bench-pkg-{i:05d}"
        lines.append(f"{package}==1.0.0")
        for _ in range((1, 3, 2, 2)[i % 4]):
            record = _osv_record(index, package)
            (records / f"{record['id']}.json").write_text(json.dumps(record), encoding="utf-8")
            index += 1
    (project / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return project, index


def measure_scan(runs: int, work: Path, bastion: Path) -> tuple[float, int, int]:
    """Median seconds of the end-to-end scan, advisories generated, findings in the SARIF."""
    project, advisories = write_scan_fixture(work)
    env = {**os.environ, "BASTION_HOME": str(work / "home")}
    imported = subprocess.run(
        [str(bastion), "db", "import", str(work / "osv-records"), "--date", "2024-10-10"],
        env=env,
        capture_output=True,
        check=False,
    )
    if imported.returncode != 0:
        raise RuntimeError(f"bastion db import failed: {imported.stderr.decode()[-800:]}")
    sarif = work / "scan.sarif"
    argv = [str(bastion), "scan", str(project), "--gate", "sca", "--format", "sarif"]
    argv += ["-o", str(sarif)]

    def scan() -> None:
        proc = subprocess.run(argv, env=env, capture_output=True, check=False)
        if proc.returncode != 1:  # the default policy blocks critical and high findings
            raise RuntimeError(f"bastion scan exited {proc.returncode}: {proc.stderr.decode()}")

    seconds = _median(scan, runs)
    results = sum(len(run["results"]) for run in json.loads(sarif.read_text())["runs"])
    if results != advisories:  # e.g. the gate could not decide: nothing worth timing
        raise RuntimeError(f"expected {advisories} SARIF results, got {results}")
    return seconds, advisories, results


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement")
    parser.add_argument("--skip-scan", action="store_true", help="no end-to-end scan")
    parser.add_argument("--bastion", type=Path, default=BASTION, help="the bastion to run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bastion-bench-policy-") as folder:
        work = Path(folder)
        rows = measure_sizes(args.runs, work)
        scan = None if args.skip_scan else measure_scan(args.runs, work, args.bastion)
    print(f"{'findings':>9} {'policy (median)':>16} {'findings/s':>11} {'SARIF write':>12}")
    for size, policy_s, write_s in rows:
        rate = size / policy_s
        print(f"{size:>9,} {policy_s * 1000:>13.1f} ms {rate:>11,.0f} {write_s * 1000:>9.1f} ms")
    print("target: policy >= 20,000 findings/s")
    if scan is not None:
        seconds, advisories, results = scan
        print(
            f"bastion scan --gate sca, {PACKAGES:,} packages, {advisories:,} advisories, "
            f"{results:,} SARIF results: {seconds:.2f} s (median; target <= 1 s)"
        )


if __name__ == "__main__":
    main()
