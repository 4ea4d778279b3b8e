"""Checkov's compiled HCL grammar, made once on the host and seeded into each sandboxed scan.

    >>> from bastion.scanners.iac.grammar_cache import warm_checkov
    >>> warm_checkov(ToolEnvironment.for_tool(Tool.CHECKOV))  # doctest: +SKIP

Why: Checkov's HCL parser compiles its Lark grammar on every start unless a cache file sits
in the temp directory; a sandbox's temp directory is always fresh, which cost every IaC scan
about 0.35 s. The cache is made on the host from our own sample (never a scanned
repository: Lark's cache is a pickle), kept owner-writable and world-readable, bound
read-only, and copied into each scan's private temp directory. It is made by
``bastion tools install`` (so a first run does not pay it) or, failing that, when the gate
is prepared. One cache per Checkov environment: new pins make a new cache instead of
leaving the old one, which Lark would ignore, in place.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bastion.scanners.iac.checkov import OFFLINE_ENV, checkov_argv
from bastion.scanners.tools.environment import ToolEnvironment
from bastion.scanners.tools.process import run_tool

__all__ = [
    "CACHE_USER",
    "grammar_cache_dir",
    "seed_grammar_cache",
    "warm_checkov",
    "warm_grammar_cache",
]

_GRAMMAR_FILES = ".lark_cache_*.tmp"
CACHE_USER = {"LOGNAME": "bastion", "USER": "bastion"}
"""Lark names its cache after ``getpass.getuser()``, which reads LOGNAME/USER first: one fixed
name makes the host-made cache match inside the sandbox (whose uid has no passwd entry)."""
_WARM_SAMPLE = 'resource "aws_s3_bucket" "sample" {\n  bucket = "sample"\n}\n'
# A first run of Checkov imports a great deal; minutes would mean it is stuck.
_WARM_TIMEOUT_SECONDS = 300


def grammar_cache_dir(env: ToolEnvironment) -> Path:
    """Where the grammar cache of the Checkov environment ``env`` is kept."""
    return env.home / "cache" / "checkov" / env.spec.env_name


def warm_checkov(env: ToolEnvironment, force: bool = False) -> None:
    """Warm the grammar cache of the installed Checkov ``env`` (afresh with ``force``)."""
    warm_grammar_cache(env.executable(), grammar_cache_dir(env), force=force)


def warm_grammar_cache(executable: Path, cache: Path, *, force: bool = False) -> None:
    """Run Checkov once on a built-in sample so Lark writes its compiled grammar to ``cache``.

    Nothing is run when ``cache`` already holds one, unless ``force`` (a reinstalled tool).
    """
    if force:
        for stale in cache.glob(_GRAMMAR_FILES):
            stale.unlink()
    if any(cache.glob(_GRAMMAR_FILES)):
        return
    with tempfile.TemporaryDirectory(prefix="bastion-iac-warm-") as tmp:
        work = Path(tmp)
        (work / "tree").mkdir()
        (work / "tree" / "main.tf").write_text(_WARM_SAMPLE)
        run_tool(
            checkov_argv(executable, ("terraform",), ()),
            cwd=work / "tree",
            timeout=_WARM_TIMEOUT_SECONDS,
            label="Checkov (grammar cache)",
            home=work,
            env={**OFFLINE_ENV, **CACHE_USER, "TMPDIR": tmp},
        )
        made = list(work.glob(_GRAMMAR_FILES))
        if not made:
            return  # a Checkov that caches nothing: scans still work, only slower
        cache.mkdir(parents=True, exist_ok=True)
        cache.chmod(0o755)
        for path in made:
            target = cache / path.name
            shutil.copyfile(path, target)
            target.chmod(0o644)


def seed_grammar_cache(cache: Path, scratch: Path) -> None:
    """Copy the host-made grammar cache into one scan's private temp directory."""
    for path in cache.glob(_GRAMMAR_FILES):
        if path.is_file() and not path.is_symlink():
            shutil.copyfile(path, scratch / path.name)
