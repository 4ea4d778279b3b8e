"""Property tests for the patch-stream parser behind history, staged and since modes."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.scanners.secrets.engine import Engine
from bastion.scanners.secrets.history import scan_patch
from bastion.scanners.secrets.samples import render

ENGINE = Engine.default()
# Filler that can never form a credential: short lowercase words.
FILLER = st.lists(st.text(alphabet="abcdefghij ", max_size=20), max_size=30)


def _patch(commits: list[tuple[str, str, int, list[str]]]) -> bytes:
    out = []
    for sha, path, start, lines in commits:
        out.append(f"\x01{sha}\x1fAda\x1f2024-01-01T00:00:00+00:00\n\n")
        out.append(f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n")
        out.append(f"@@ -{start},0 +{start},{len(lines)} @@\n")
        out.extend(f"+{line}\n" for line in lines)
    return "".join(out).encode()


@settings(max_examples=60, deadline=None)
@given(
    before=FILLER,
    after=FILLER,
    start=st.integers(min_value=1, max_value=5000),
    removed=st.lists(st.text(alphabet="abc", max_size=5), max_size=3),
    seed=st.integers(min_value=0, max_value=10**6),
)
def test_secret_line_number_and_commit_are_exact(
    before: list[str], after: list[str], start: int, removed: list[str], seed: int
) -> None:
    token = render("<<gh:ghp_>>", random.Random(seed))
    lines = [*before, f'TOKEN = "{token}"', *after]
    # A deletion hunk in between must not move the new-file line numbers.
    body = _patch([("a" * 40, "x.py", start, lines)]).replace(
        b"@@ -",
        b"@@ -1,1 +1,0 @@\n" + b"".join(b"-" + r.encode() + b"\n" for r in removed) + b"@@ -",
        1,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.patch"
        path.write_bytes(body)
        result = scan_patch(path, ENGINE)
    assert [(h.rule_id, h.path, h.line, h.commit) for h in result.hits] == [
        ("github-pat", "x.py", start + len(before), "a" * 40)
    ]


@settings(max_examples=30, deadline=None)
@given(repeats=st.integers(min_value=1, max_value=5), seed=st.integers(0, 10**6))
def test_a_secret_repeated_in_later_commits_is_reported_once_at_the_first(
    repeats: int, seed: int
) -> None:
    token = render("<<gh:ghp_>>", random.Random(seed))
    commits = [(f"{n:040x}", f"f{n}.py", 1, [f'T = "{token}"']) for n in range(repeats)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.patch"
        path.write_bytes(_patch(commits))
        result = scan_patch(path, ENGINE)
    assert [(h.path, h.commit) for h in result.hits] == [("f0.py", f"{0:040x}")]
    assert result.commits == repeats
