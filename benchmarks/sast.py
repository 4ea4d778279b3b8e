"""Benchmark of the SAST gate on two real web applications, beside the tools users would pick.

Subjects, fetched at fixed versions as source distributions from PyPI (the only source of
third-party code this machine reaches): FlaskBB 2.0.2 (a Flask forum) and Mezzanine 6.1.1
(a Django CMS). Their code is scanned as published; nothing is planted.

Columns, each timed on the same extracted tree:

- ``bastion``: Bastion's SAST gate (Bandit + Semgrep with Bastion's rules, merged, inline
  markers recorded and counted apart as "inline-marked");
- ``bandit``: Bandit as a user runs it (``bandit -r .``, honouring ``# nosec``);
- ``semgrep+bastion-rules``: Semgrep alone with Bastion's rule files.

Semgrep's community rule set (``p/python``) is what users would pick beside Bandit, but it is
served by the Semgrep registry, which this machine cannot reach, and no package on PyPI or npm
ships it (``semgrep-rules-manager`` downloads from GitHub at run time). Copying those rules
into the project is ruled out on purpose (an independent yardstick stays independent), so
that column is absent and said so in the output.

Findings are grouped into classes by CWE (table ``_CLASSES``); a finding without a mapped
CWE falls under "other". Counts are findings, not confirmed vulnerabilities.

Usage: ``.venv/bin/python benchmarks/sast.py [--cache DIR]`` (needs PyPI the first time).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from bastion.scanners.interface import ScanRequest
from bastion.scanners.sast import SastGate
from bastion.scanners.sast.ruleset import rules_dir
from bastion.scanners.tools import Tool, ToolEnvironment, ensure_installed

APPS = (("FlaskBB", "2.0.2"), ("mezzanine", "6.1.1"))
_CLASSES = {
    "CWE-89": "sql injection",
    "CWE-78": "command injection",
    "CWE-94": "code injection",
    "CWE-95": "code injection",
    "CWE-79": "xss",
    "CWE-601": "open redirect",
    "CWE-22": "path traversal",
    "CWE-918": "ssrf",
    "CWE-611": "xxe",
    "CWE-502": "deserialization",
    "CWE-352": "csrf",
    "CWE-1336": "template injection",
    "CWE-1236": "csv injection",
    "CWE-327": "weak crypto",
    "CWE-328": "weak crypto",
    "CWE-330": "weak randomness",
    "CWE-295": "tls verification",
    "CWE-259": "hard-coded secret",
    "CWE-798": "hard-coded secret",
    "CWE-377": "insecure temp file",
    "CWE-605": "bind all interfaces",
    "CWE-1327": "bind all interfaces",
    "CWE-20": "input validation",
    "CWE-400": "resource exhaustion",
    "CWE-703": "error handling",
}
_OTHER = "other"


def _fetch(cache: Path, name: str, version: str) -> Path:
    """The extracted sdist of ``name==version`` under ``cache`` (downloaded once)."""
    target = cache / f"{name}-{version}"
    if target.is_dir():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*argv, f"{name}=={version}", "-d", str(cache), "-q"], check=True)
    archive = next(
        p for p in cache.glob("*.tar.gz") if p.name.lower().startswith(f"{name}-{version}".lower())
    )
    with tarfile.open(archive) as tar:
        tar.extractall(cache, filter="data")
    return next(p for p in cache.iterdir() if p.is_dir() and p.name.lower() == target.name.lower())


def _classes(cwes: Iterable[tuple[str, ...]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for ids in cwes:
        counts[next((_CLASSES[c] for c in ids if c in _CLASSES), _OTHER)] += 1
    return counts


def _bastion(root: Path) -> tuple[Counter[str], float, int]:
    start = time.perf_counter()
    report = SastGate().scan(ScanRequest(root))
    seconds = time.perf_counter() - start
    marked = [f for f in report.findings if "inline_suppression" in f.properties]
    counts = _classes(f.cwe for f in report.findings if f not in marked)
    return counts, seconds, len(marked)


def _bandit(root: Path, scratch: Path) -> tuple[Counter[str], float]:
    executable = ToolEnvironment.for_tool(Tool.BANDIT).executable()
    out = scratch / "bandit.json"
    start = time.perf_counter()
    argv = [str(executable), "-r", ".", "-f", "json", "-o", str(out), "-q"]
    subprocess.run(argv, cwd=root, check=False)  # exit 1 means "issues found"
    seconds = time.perf_counter() - start
    results = json.loads(out.read_text())["results"]
    cwes = [(f"CWE-{r['issue_cwe']['id']}",) if r.get("issue_cwe") else () for r in results]
    return _classes(cwes), seconds


def _semgrep(root: Path) -> tuple[Counter[str], float]:
    executable = ToolEnvironment.for_tool(Tool.SEMGREP).executable()
    argv = [str(executable), "scan", "--json", "--quiet", "--metrics=off"]
    argv += ["--disable-version-check", "--config", str(rules_dir()), "--jobs=2", "."]
    start = time.perf_counter()
    run = subprocess.run(argv, cwd=root, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    results = json.loads(run.stdout)["results"]
    cwes = [
        tuple(c.split(":")[0] for c in r["extra"].get("metadata", {}).get("cwe", []))
        for r in results
    ]
    return _classes(cwes), seconds


def _table(app: str, columns: dict[str, tuple[Counter[str], float]], marked: int) -> str:
    names = sorted({c for counts, _ in columns.values() for c in counts})
    head = ["class", *columns]
    rows = [head, ["---"] * len(head)]
    rows += [[name, *(str(counts[name]) for counts, _ in columns.values())] for name in names]
    rows.append(["**total**", *(str(sum(c.values())) for c, _ in columns.values())])
    rows.append(["time (s)", *(f"{seconds:.1f}" for _, seconds in columns.values())])
    lines = [f"### {app}", "", *("| " + " | ".join(r) + " |" for r in rows)]
    lines.append("")
    lines.append(f"bastion: {marked} more finding(s) carry an inline marker (suppressed inline)")
    lines.append("semgrep community rules (p/python): not run, registry unreachable (see doc)")
    return "\n".join(lines)


def main() -> None:
    """Fetch both applications, run the three columns on each, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache/bastion-bench-sast")
    args = parser.parse_args()
    for tool in (Tool.BANDIT, Tool.SEMGREP):
        ensure_installed(ToolEnvironment.for_tool(tool))
    for name, version in APPS:
        root = _fetch(args.cache, name, version)
        scratch = args.cache / "scratch"
        scratch.mkdir(exist_ok=True)
        counts, seconds, marked = _bastion(root)
        columns = {
            "bastion": (counts, seconds),
            "bandit": _bandit(root, scratch),
            "semgrep+bastion-rules": _semgrep(root),
        }
        print(_table(f"{name} {version}", columns, marked), flush=True)
        print()


if __name__ == "__main__":
    main()
