"""Benchmark the secrets gate against CredSweeper and detect-secrets, then against itself.

    .venv/bin/python benchmarks/secrets.py [--tree-mb 100] [--peer-mb 3] [--runs 3]
        [--credsweeper EXE] [--detect-secrets EXE] [--legacy [PATH]]

Comparison (the default): a labelled corpus of our own (``bastion.scanners.secrets.corpus``:
74 credential kinds generated now in .env, YAML, JSON, Python, shell, Terraform and
Dockerfile files, plus hard negatives: UUIDs, digests, lorem ipsum, the docs' example keys,
placeholders, env references, paths, public keys) is written to a temporary tree and every
tool scans it: recall (planted secrets reported on their lines), false positives (distinct
lines reported anywhere else) and time. Then MB/s: Bastion end to end (``python -m
bastion.scanners.secrets``, a fresh process per run) on a TREE_MB tree (the corpus padded with
this checkout's installed Python sources) and every tool on a PEER_MB slice of it, with the
findings each reports on the padding (real code: all of them are false positives or noise).

The peers live in their own venvs, never in this project's:

    python3 -m venv /tmp/peers-cs && /tmp/peers-cs/bin/pip install credsweeper
    python3 -m venv /tmp/peers-ds && /tmp/peers-ds/bin/pip install detect-secrets

found there by default, or through ``--credsweeper`` / ``--detect-secrets`` or the
``BASTION_BENCH_CREDSWEEPER`` / ``BASTION_BENCH_DETECT_SECRETS`` environment variables.

``--legacy`` runs the older measurements instead: over PATH (default: the venv's
site-packages) ``bastion scan --gate secrets``, the gate alone, ripgrep's ceiling and
detect-secrets on a subset; ``--history`` over a generated repository; per-rule sample recall;
the planted secrets of ``examples/vulnerable-service``.
"""

# ruff: noqa: E402 - the imports after the sys.path fix below must come after it
from __future__ import annotations

import os
import sys

# First thing, before any other import: this file is named like the stdlib module `secrets`,
# and running it puts its folder on sys.path (as the script's directory, or as "" when run
# from there), so `import secrets` anywhere (tempfile, the engine...) would load this script.
_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]

import argparse
import json
import random
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bastion.scanners.secrets.catalog import load_rules
from bastion.scanners.secrets.corpus import KINDS, LabelledFile, build_corpus
from bastion.scanners.secrets.engine import relax_pattern
from bastion.scanners.secrets.samples import SAMPLES, render

REPO = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
PEER_VENV = Path(tempfile.gettempdir()) / "bastion-bench" / "detect-secrets"
_LOOKAROUND = re.compile(r"\(\?<?[!=]\[[^\]]*\]\)|\(\?<?[!=][^()]*\)")


def _measure(argv: list[str], cwd: Path | None = None) -> tuple[float, int, str]:
    """Wall time, peak RSS (KiB) of the largest process, and stdout of one command."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "dt = time.perf_counter() - t\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stderr.write(f'{dt} {rss}\\n')\n"
        "sys.stdout.buffer.write(p.stdout)\n"
    )
    proc = subprocess.run(
        [str(PY), "-c", wrapper, *argv], capture_output=True, cwd=cwd, check=False
    )
    seconds, rss = proc.stderr.decode().strip().splitlines()[-1].split()
    return float(seconds), int(rss), proc.stdout.decode("utf-8", "replace")


def _tree_size(root: Path) -> tuple[int, int]:
    files = size = 0
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                files, size = files + 1, size + path.stat().st_size
    return files, size


def _gate_argv(root: Path) -> list[str]:
    """The gate alone, in place: what the sandboxed runner executes."""
    return [str(PY), "-m", "bastion.scanners.secrets", str(root)]


def _bastion_argv(root: Path) -> list[str]:
    """The product end to end: CLI, survey, sandbox over a read-only view, gate, policy."""
    exe = PY.parent / "bastion"
    probe = subprocess.run([str(exe), "scan", "--help"], capture_output=True, check=False)
    if probe.returncode == 0 and b"--gate" in probe.stdout:
        return [str(exe), "scan", "--gate", "secrets", "--json", str(root)]
    return _gate_argv(root)


def _parse(out: str | bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(facts, findings) from either `bastion scan --json` or the gate's own JSON."""
    data = json.loads(out)
    if "gates" in data:
        gate = data["gates"]["secrets"]
        if gate["error"]:
            raise SystemExit(f"the secrets gate failed: {gate['error']}")
        return gate["facts"], data["findings"]
    return data["facts"], data["findings"]


def _count_bastion(out: str) -> int:
    return len(_parse(out)[1])


def _patterns_file(folder: Path) -> Path:
    lines = []
    for rule in load_rules():
        # Rust's regex has no lookaround, rejects the needless escape \" Python accepts, and
        # rg joins the lines into one alternation where a group name may appear once.
        pattern = _LOOKAROUND.sub("", relax_pattern(rule.scan_pattern)).replace('\\"', '"')
        pattern = pattern.replace("(?P<secret>", "(?:")
        # Byte mode, as Hyperscan scans: with Unicode classes rg's automaton for 248 patterns
        # thrashes its cache and takes ~80 s on 100 MB instead of ~10 s; same matching lines.
        lines.append(f"(?-u){pattern}")
    path = folder / "patterns"
    path.write_text("\n".join(lines) + "\n")
    rg = shutil.which("rg") or "rg"
    probe = subprocess.run([rg, "-f", str(path), os.devnull], capture_output=True, check=False)
    if probe.returncode == 2:
        raise SystemExit(f"rg rejected the patterns: {probe.stderr.decode()[:500]}")
    return path


def _keywords_file(folder: Path) -> Path:
    path = folder / "keywords"
    path.write_text("\n".join(sorted({k for r in load_rules() for k in r.keywords})) + "\n")
    return path


def _rg_count(out: str) -> int:
    return sum(int(line.rsplit(":", 1)[1]) for line in out.splitlines() if line)


def _ensure_detect_secrets() -> Path | None:
    exe = PEER_VENV / "bin" / "detect-secrets"
    if exe.exists():
        return exe
    print("installing detect-secrets into a throwaway venv under /tmp ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    proc = subprocess.run(
        [str(PEER_VENV / "bin/pip"), "install", "-q", "detect-secrets"], check=False
    )
    return exe if proc.returncode == 0 else None


def _subset(root: Path, limit: int, dest: Path) -> Path:
    """Copy text files from ``root`` until ``limit`` bytes, keeping relative paths."""
    total = 0
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            src = Path(folder, name)
            if src.is_symlink() or not src.is_file() or b"\0" in src.read_bytes()[:8192]:
                continue
            target = dest / src.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            total += src.stat().st_size
            if total >= limit:
                return dest
    return dest


def _row(name: str, times: list[float], files: int, size: int, found: int, rss: int) -> str:
    med = statistics.median(times)
    return (
        f"{name:<34} {med:8.2f} s {files / med:10.0f} files/s {size / 1e6 / med:9.1f} MB/s"
        f" {found:8d} findings {rss / 1024:7.0f} MB peak"
    )


def _history_repo(folder: Path, commits: int, rng: random.Random) -> tuple[Path, int]:
    """A repository of ``commits`` commits, each rewriting one of 200 files (so every planted
    secret is deleted again 200 commits later), with nine planted secrets."""
    repo = folder / "history"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    planted = {commits // 10 * k: render(SAMPLES["github-pat"][0], rng) for k in range(1, 10)}
    stream = []
    for index in range(commits):
        # About 30 changed lines of code-like text per commit (~1 KB added each).
        body = "".join(
            f"def handler_{index}_{n}(request):  # revision {index}\n    return {n * index}\n"
            for n in range(15)
        )
        if index in planted:
            body += planted[index] + "\n"
        data = body.encode()
        msg = f"commit {index}".encode()
        stream.append(
            b"commit refs/heads/main\n"
            + f"committer Bench <bench@example.org> {1700000000 + index} +0000\n".encode()
            + b"data %d\n%s\n" % (len(msg), msg)
            + f"M 100644 inline src/mod{index % 200}.py\n".encode()
            + b"data %d\n%s\n" % (len(data), data)
        )
    subprocess.run(
        ["git", "-C", str(repo), "fast-import", "--quiet"], input=b"".join(stream), check=True
    )
    return repo, len(planted)


def _recall(folder: Path) -> tuple[int, int, int, int]:
    """(found, planted, same-rule false positives, any findings) over samples per rule."""
    rng = random.Random(2026)
    pos, neg = folder / "positives", folder / "negatives"
    pos.mkdir()
    neg.mkdir()
    for rule_id, (good, bad) in SAMPLES.items():
        (pos / f"{rule_id}.txt").write_text(render(good, rng) + "\n")
        (neg / f"{rule_id}.txt").write_text(render(bad, rng) + "\n")
    found = _parse(subprocess.run(_gate_argv(pos), capture_output=True, check=False).stdout)[1]
    hits = {(Path(f["location"]["path"]).stem, f["rule_id"]) for f in found}
    recall = sum(1 for rule_id in SAMPLES if (rule_id, rule_id) in hits)
    negatives = _parse(subprocess.run(_gate_argv(neg), capture_output=True, check=False).stdout)[1]
    same_rule = sum(1 for f in negatives if Path(f["location"]["path"]).stem == f["rule_id"])
    return recall, len(SAMPLES), same_rule, len(negatives)


def _planted_example() -> None:
    planted = [  # the `secrets` rows of the example's table: (file, rule)
        {"path": cells[1], "rule_id": cells[2]}
        for line in (REPO / "examples/vulnerable-service/EXPECTED.md").read_text().splitlines()
        if len(cells := [c.strip() for c in line.strip().split("|")[1:-1]]) == 5
        and cells[0] == "secrets"
    ]
    out = subprocess.run(
        _bastion_argv(REPO / "examples/vulnerable-service"), capture_output=True, check=False
    )
    found = {(f["location"]["path"], f["rule_id"]) for f in _parse(out.stdout.decode())[1]}
    hit = sum(1 for p in planted if (p["path"], p["rule_id"]) in found)
    extra = len(found) - hit
    clean = [
        p for p in (REPO / "examples").iterdir() if p.is_dir() and p.name != "vulnerable-service"
    ]
    clean_found = sum(
        _count_bastion(
            subprocess.run(_bastion_argv(p), capture_output=True, check=False).stdout.decode()
        )
        for p in clean
    )
    print(
        f"examples: {hit}/{len(planted)} planted found, {extra} other findings; "
        f"{clean_found} findings on {len(clean)} clean example project(s)"
    )


def legacy(args: argparse.Namespace) -> None:
    """The older measurements: whole-tree speed, ripgrep ceiling, history, sample recall."""
    root = args.legacy.resolve()
    files, size = _tree_size(root)
    print(f"tree: {root}  {files} files, {size / 1e6:.1f} MB (all files, binaries included)")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        rows = []
        for label, make in (
            ("bastion scan --gate secrets", _bastion_argv),
            ("gate only", _gate_argv),
        ):
            ours = [_measure(make(root)) for _ in range(args.runs)]
            facts, findings = _parse(ours[-1][2])
            text_mb = facts.get("bytes_scanned", 0) / 1e6
            median = statistics.median(t for t, _, _ in ours)
            rows.append(
                _row(
                    label,
                    [t for t, _, _ in ours],
                    files,
                    size,
                    len(findings),
                    max(r for _, r, _ in ours),
                )
                + f"  [{text_mb / median:.0f} MB/s of the {text_mb:.0f} MB of text]"
            )
        print(f"scanned {facts.get('files_scanned')} text files; skipped {facts.get('skipped')}")
        rg = shutil.which("rg")
        if rg:
            argv = [rg, "-c", "-i", "-F", "--no-ignore", "--hidden", "-f", str(_keywords_file(tmp))]
            runs = [_measure([*argv, str(root)]) for _ in range(args.runs)]
            rows.append(
                _row(
                    "rg -c -F -f keywords (ceiling)",
                    [t for t, _, _ in runs],
                    files,
                    size,
                    _rg_count(runs[-1][2]),
                    max(r for _, r, _ in runs),
                )
            )
        else:
            rows.append("rg: not installed (apt-get install -y ripgrep)")
        peer = None if args.no_detect_secrets else _ensure_detect_secrets()
        if peer is not None:
            subset = _subset(root, int(args.peer_mb * 1e6), tmp / "subset")
            sub_files, sub_size = _tree_size(subset)
            t, rss, out = _measure([str(peer), "scan", "--all-files", "."], cwd=subset)
            count = sum(len(v) for v in json.loads(out)["results"].values())
            rows.append(
                _row(
                    f"detect-secrets ({sub_size / 1e6:.1f} MB subset)",
                    [t],
                    sub_files,
                    sub_size,
                    count,
                    rss,
                )
            )
            ours_sub = _measure(_bastion_argv(subset))
            rows.append(
                _row(
                    "bastion on the same subset",
                    [ours_sub[0]],
                    sub_files,
                    sub_size,
                    _count_bastion(ours_sub[2]),
                    ours_sub[1],
                )
            )
            if rg:
                argv = [rg, "-c", "--no-ignore", "--hidden", "-f", str(_patterns_file(tmp)), "."]
                t, rss, out = _measure(argv, cwd=subset)
                rows.append(
                    _row(
                        "rg -c -f patterns, same subset",
                        [t],
                        sub_files,
                        sub_size,
                        _rg_count(out),
                        rss,
                    )
                )
        print("\n".join(rows))
        repo, planted = _history_repo(tmp, args.commits, random.Random(7))
        argv = [str(PY), "-m", "bastion.scanners.secrets", "--history", str(repo)]
        t, rss, out = _measure(argv)
        facts, findings = _parse(out)
        print(
            f"--history over {facts['commits_scanned']} commits ({facts['lines_scanned']} added "
            f"lines, {facts['bytes_scanned'] / 1e6:.1f} MB): {t:.2f} s, "
            f"{len(findings)}/{planted} planted secrets found, {rss / 1024:.0f} MB peak"
        )
        recall, total, same_rule, other = _recall(tmp)
        print(
            f"samples: recall {recall}/{total} rules; on the near misses {same_rule} findings "
            f"of the rule missed, {other} of any rule (e.g. a bad-checksum token still "
            "assigned to `token =` is a generic-secret)"
        )
        _planted_example()


_PEERS = {
    "credsweeper": ("BASTION_BENCH_CREDSWEEPER", "/tmp/peers-cs/bin/credsweeper"),  # noqa: S108 - the documented peer venv
    "detect-secrets": ("BASTION_BENCH_DETECT_SECRETS", "/tmp/peers-ds/bin/detect-secrets"),  # noqa: S108
}
_INSTALL = {
    "credsweeper": "python3 -m venv /tmp/peers-cs && /tmp/peers-cs/bin/pip install credsweeper",
    "detect-secrets": (
        "python3 -m venv /tmp/peers-ds && /tmp/peers-ds/bin/pip install detect-secrets"
    ),
}
Lines = set[tuple[str, int]]


def _peer(name: str, given: str | None) -> Path | None:
    env, default = _PEERS[name]
    path = Path(given or os.environ.get(env) or default)
    if path.exists():
        return path
    print(f"{name}: not found at {path}; install it with: {_INSTALL[name]}", file=sys.stderr)
    return None


def _write_corpus(root: Path) -> list[LabelledFile]:
    files = build_corpus()
    for item in files:
        target = root / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.text)
    return files


def _pad(root: Path, target: int) -> int:
    """Copy installed Python sources under ``root/vendor`` until the tree holds ``target``."""
    size = _tree_size(root)[1]
    source = REPO / ".venv/lib/python3.11/site-packages"
    rounds = 0
    while size < target:
        for path in sorted(source.rglob("*.py")):
            if size >= target:
                break
            if path.is_symlink() or not path.is_file():
                continue
            dest = root / "vendor" / str(rounds) / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            size += dest.stat().st_size
        rounds += 1
    return size


def _lines_bastion(root: Path) -> tuple[float, Lines]:
    t, _rss, out = _measure([str(PY), "-m", "bastion.scanners.secrets", str(root)])
    found = _parse(out)[1]
    return t, {(f["location"]["path"], int(f["location"]["line"])) for f in found}


def _lines_detect_secrets(exe: Path, root: Path) -> tuple[float, Lines]:
    t, _rss, out = _measure([str(exe), "scan", "--all-files", "."], cwd=root)
    results = json.loads(out)["results"]
    return t, {(path, int(s["line_number"])) for path, items in results.items() for s in items}


def _lines_credsweeper(exe: Path, root: Path, folder: Path) -> tuple[float, Lines]:
    report = folder / "credsweeper.json"
    argv = [str(exe), "--path", str(root), "--save-json", str(report), "--jobs", "2"]
    t, _rss, _out = _measure(argv)
    found: Lines = set()
    for item in json.loads(report.read_text()):
        for line in item["line_data_list"]:
            path = os.path.relpath(line["path"], root)
            found.add((path, int(line["line_num"])))
    return t, found


def _score(files: list[LabelledFile], found: Lines) -> tuple[int, int, int]:
    """(planted found, kinds with every planted file found, false-positive lines)."""
    spans = {f.path: f.lines for f in files if f.lines is not None}
    hit_paths = set()
    fp = 0
    for path, line in found:
        span = spans.get(path)
        if span is not None and span[0] <= line <= span[1]:
            hit_paths.add(path)
        elif not path.startswith("vendor/"):
            fp += 1
    kinds = {f.kind for f in files if f.kind}
    missed_kinds = {f.kind for f in files if f.lines is not None and f.path not in hit_paths}
    return len(hit_paths), len(kinds - missed_kinds), fp


def _tools(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    tools: dict[str, Any] = {"bastion": _lines_bastion}
    cs = _peer("credsweeper", args.credsweeper)
    if cs is not None:
        tools["credsweeper"] = lambda root: _lines_credsweeper(cs, root, folder)
    ds = _peer("detect-secrets", args.detect_secrets)
    if ds is not None:
        tools["detect-secrets"] = lambda root: _lines_detect_secrets(ds, root)
    return tools


def compare(args: argparse.Namespace) -> None:
    """Recall, false positives and MB/s of every tool on the labelled corpus; Bastion at size."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        files = _write_corpus(corpus)
        planted = sum(1 for f in files if f.lines is not None)
        negatives = sum(1 for f in files if f.lines is None)
        print(
            f"corpus: {planted} planted secrets of {len(KINDS)} kinds in "
            f"{len({f.path.rsplit('/', 1)[1] for f in files})} file formats, "
            f"{negatives} hard-negative files"
        )
        tools = _tools(args, tmp)
        print(f"{'tool':<16} {'recall':>12} {'kinds':>9} {'FP lines':>9} {'seconds':>8}")
        for name, run in tools.items():
            t, found = run(corpus)
            hit, kinds, fp = _score(files, found)
            print(
                f"{name:<16} {hit:>5}/{planted:<4} {100 * hit / planted:3.0f}% "
                f"{kinds:>3}/{len(KINDS):<3} {fp:>9} {t:>8.2f}"
            )
        slice_root = tmp / "slice"
        shutil.copytree(corpus, slice_root)
        slice_size = _pad(slice_root, int(args.peer_mb * 1e6))
        big = tmp / "big"
        shutil.copytree(corpus, big)
        big_size = _pad(big, int(args.tree_mb * 1e6))
        print(
            f"\nspeed (median of {args.runs} for Bastion; peers once on the slice; "
            "'padding' = findings on real installed Python source)"
        )
        print(f"{'tool':<16} {'tree':>10} {'seconds':>8} {'MB/s':>8} {'padding':>8}")
        for name, run in tools.items():
            runs = args.runs if name == "bastion" else 1
            times, found = [], set()
            for _ in range(runs):
                t, found = run(slice_root)
                times.append(t)
            med = statistics.median(times)
            pad = sum(1 for p, _ in found if p.startswith("vendor/"))
            print(
                f"{name:<16} {slice_size / 1e6:7.1f} MB {med:8.2f} "
                f"{slice_size / 1e6 / med:8.1f} {pad:>8}"
            )
        times = []
        for _ in range(args.runs):
            t, found = _lines_bastion(big)
            times.append(t)
        med = statistics.median(times)
        pad = sum(1 for p, _ in found if p.startswith("vendor/"))
        print(
            f"{'bastion':<16} {big_size / 1e6:7.1f} MB {med:8.2f} "
            f"{big_size / 1e6 / med:8.1f} {pad:>8}   (end to end, fresh process)"
        )
        _ripgrep_ceiling(args, tmp, big, big_size, med)


def _ripgrep_ceiling(
    args: argparse.Namespace, tmp: Path, big: Path, big_size: int, ours: float
) -> None:
    """ripgrep on the same tree: the rules' prefilter patterns (the comparable set: what
    Hyperscan matches before any Python runs), and the rules' keywords as fixed strings (a
    floor on the work: no regular expression at all). Each with its ratio to Bastion."""
    rg = shutil.which("rg")
    if rg is None:
        print("rg: not installed (apt-get install -y ripgrep)")
        return
    common = [rg, "-c", "--no-ignore", "--hidden"]
    for label, argv, runs in (
        # About 10 s a run: at most three.
        ("rg -f patterns", [*common, "-f", str(_patterns_file(tmp)), "."], min(args.runs, 3)),
        ("rg -F keywords", [*common, "-i", "-F", "-f", str(_keywords_file(tmp)), "."], args.runs),
    ):
        results = [_measure(argv, cwd=big) for _ in range(runs)]
        med = statistics.median(t for t, _, _ in results)
        print(
            f"{label:<16} {big_size / 1e6:7.1f} MB {med:8.2f} {big_size / 1e6 / med:8.1f} "
            f"{'':>8}   ({_rg_count(results[-1][2])} lines; {med / ours:.1f}x Bastion's time,"
            f" median of {runs})"
        )


def main() -> None:
    """Parse the arguments; run the comparison, or the older measurements with --legacy."""
    parser = argparse.ArgumentParser()
    default = REPO / ".venv/lib/python3.11/site-packages"
    parser.add_argument("--legacy", nargs="?", type=Path, const=default, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree-mb", type=float, default=100.0)
    parser.add_argument("--peer-mb", type=float, default=3.0)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--no-detect-secrets", action="store_true")
    parser.add_argument("--credsweeper", default=None)
    parser.add_argument("--detect-secrets", default=None)
    args = parser.parse_args()
    if args.legacy is not None:
        legacy(args)
    else:
        compare(args)


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(
        f"(benchmark ran {time.perf_counter() - started:.0f} s; "
        f"cpu {resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime:.0f} s in children)"
    )
