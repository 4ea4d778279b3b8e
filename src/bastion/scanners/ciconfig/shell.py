"""Risky shell idioms in ``run:`` / ``script:`` text, each with the text that matched.

    >>> [m.snippet for m in pipe_to_shell("curl -fsSL https://x.sh/i | sudo bash")]
    ['curl -fsSL https://x.sh/i | sudo bash']
    >>> [m.snippet for m in env_file_writes('echo "A=$B" >> "$GITHUB_ENV"')]
    ['echo "A=$B" >> "$GITHUB_ENV"']

Shell is not parsed (it cannot be, statically, in general); the patterns are anchored on one
logical line each, so a match names the line a person has to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ShellMatch",
    "adhoc_installs",
    "env_file_writes",
    "file_kind",
    "insecure_urls",
    "logical_lines",
    "pipe_to_shell",
    "publish_commands",
]

_FETCH = r"(?:curl|wget|iwr|Invoke-WebRequest|irm|Invoke-RestMethod)\b"
_SHELLS = r"(?:sudo\s+(?:-\S+\s+)*)?(?:ba|z|k|da)?sh\b|python3?\b|perl\b|ruby\b|node\b|iex\b"
_PIPE = re.compile(rf"{_FETCH}[^|\n]*\|\s*(?:{_SHELLS})")
_SUBST = re.compile(rf"(?:(?:ba|z)?sh|source|\.|eval)\s+(?:-c\s+)?[\"']?(?:<\(|\$\()\s*{_FETCH}")
_IEX = re.compile(
    rf"\biex\s*\(?\s*\(?\s*(?:New-Object\s+Net\.WebClient\)\.DownloadString|{_FETCH})"
)
_ENV_FILE = re.compile(
    r"(?:\$\{?GITHUB_(ENV|PATH|OUTPUT)\}?|\$env:GITHUB_(ENV|PATH|OUTPUT))", re.IGNORECASE
)
_INSTALL = re.compile(
    r"\b(?:(?:pip3?|python3?\s+-m\s+pip|uv\s+pip|pipx)\s+install"
    r"|npm\s+(?:install|i|add)|yarn\s+(?:global\s+)?add|pnpm\s+add|gem\s+install"
    r"|cargo\s+install|go\s+install|bundle\s+add|brew\s+install)\s+(.*)$"
)
_URL = re.compile(r"\b(?:http|ftp)://(?!localhost\b|127\.0\.0\.1\b|\[::1\])[^\s\"'`)]+")
_DOWNLOADERS = re.compile(
    r"\b(?:curl|wget|pip3?|npm|gem|apt-get|apk|git\s+clone|Invoke-WebRequest|iwr)\b"
)
_PUBLISH = re.compile(
    r"\b(?:twine\s+upload|npm\s+publish|yarn\s+publish|pnpm\s+publish|cargo\s+publish"
    r"|gem\s+push|uv\s+publish|poetry\s+publish|flit\s+publish|hatch\s+publish)\b"
)


@dataclass(frozen=True, slots=True)
class ShellMatch:
    """What matched (text as written on one line) and which occurrence of it this is."""

    snippet: str
    nth: int = 0


def logical_lines(script: str) -> list[str]:
    """The script's lines with ``\\``-continuations joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    out = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            out.append(line)
    return out


def _matches(script: str, pattern: re.Pattern[str], whole_line: bool = False) -> list[ShellMatch]:
    seen: dict[str, int] = {}
    found = []
    for line in script.splitlines():
        if line.strip().startswith("#"):
            continue
        for match in pattern.finditer(line):
            snippet = line.strip() if whole_line else match.group(0)
            found.append(ShellMatch(snippet, seen.get(snippet, 0)))
            seen[snippet] = seen.get(snippet, 0) + 1
            if whole_line:
                break
    return found


def pipe_to_shell(script: str) -> list[ShellMatch]:
    """``curl … | sh``, ``bash <(curl …)``, ``iex (iwr …)`` and kin."""
    hits = _matches(script, _PIPE, whole_line=True)
    hits += _matches(script, _SUBST, whole_line=True)
    hits += _matches(script, _IEX, whole_line=True)
    unique: dict[tuple[str, int], ShellMatch] = {(h.snippet, h.nth): h for h in hits}
    return list(unique.values())


def env_file_writes(script: str) -> list[ShellMatch]:
    """Lines that append to GITHUB_ENV, GITHUB_PATH or GITHUB_OUTPUT."""
    return [m for m in _matches(script, _ENV_FILE, whole_line=True) if _writes(m.snippet)]


def _writes(line: str) -> bool:
    return ">" in line or "Out-File" in line or "Add-Content" in line or "tee" in line


def file_kind(line: str) -> str:
    """Which of ENV, PATH or OUTPUT a write line targets (first named)."""
    match = _ENV_FILE.search(line)
    return (match.group(1) or match.group(2)).upper() if match else "ENV"


_MANIFEST_ARGS = re.compile(r"^(?:-r|--requirement|-e|--editable|-c|--constraint)$|^\.{1,2}/?$")
_PINNED = re.compile(r"(?:==|@v?\d[\w.+-]*$|@[0-9a-f]{40}$|:\d[\w.]*$)")


def adhoc_installs(script: str) -> list[ShellMatch]:
    """Installs naming a package without an exact version (manifests and ``.`` are fine)."""
    found = []
    for m in _matches(script, _INSTALL, whole_line=True):
        args = re.split(r"[;&|]", m.snippet.split("install", 1)[-1].split("add", 1)[-1])[0]
        words = args.split()
        if any(_MANIFEST_ARGS.match(w) for w in words) or "--frozen" in words:
            continue
        packages = [w for w in words if not w.startswith("-") and not w.startswith("$")]
        if any(not _PINNED.search(p) for p in packages):
            found.append(m)
    return found


def insecure_urls(script: str) -> list[ShellMatch]:
    """``http://`` and ``ftp://`` URLs on lines that download or install."""
    found = []
    for m in _matches(script, _URL):
        if any(_DOWNLOADERS.search(line) and m.snippet in line for line in script.splitlines()):
            found.append(m)
    return found


def publish_commands(script: str) -> list[ShellMatch]:
    """Registry uploads driven by a stored token (twine, npm, cargo, gem…)."""
    return _matches(script, _PUBLISH)
