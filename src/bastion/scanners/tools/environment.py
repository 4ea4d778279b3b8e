"""Where a tool environment lives, whether it is installed, and what a sandbox must bind.

    >>> from pathlib import Path
    >>> from bastion.scanners.tools.catalog import Tool
    >>> env = ToolEnvironment.for_tool(Tool.BANDIT, home=Path("/srv/bastion"))
    >>> env.path.parent
    PosixPath('/srv/bastion/tools')

An environment is a virtual environment at ``$BASTION_HOME/tools/<tool>-<version>-<digest>``
(or under ``$BASTION_TOOLS_DIR`` when set: one tools folder shared by several homes, e.g. the
users of a build machine, or a test suite whose every test has a home of its own) holding a
``bastion-tool.json`` manifest. The installer writes the manifest into a staging
directory and renames the whole directory into place as its very last step, so a directory at
that path *with* a manifest whose digest matches the shipped requirement file is a complete
environment, and anything else is not installed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bastion.errors import ToolMissingError
from bastion.home import bastion_home
from bastion.scanners.tools.catalog import Tool, ToolSpec, spec_for

__all__ = [
    "MANIFEST_NAME",
    "TOOLS_DIR_ENV",
    "ToolEnvironment",
    "ToolManifest",
    "install_command",
    "sandbox_environment",
]

MANIFEST_NAME = "bastion-tool.json"
TOOLS_DIR_ENV = "BASTION_TOOLS_DIR"


def sandbox_environment() -> dict[str, str]:
    """What a sandboxed gate needs in its environment to find the host's tool environments.

    ``BASTION_HOME``, and ``BASTION_TOOLS_DIR`` when set: without it the gate would look under
    ``<home>/tools``, which is neither where the environments are nor bound in.
    """
    env = {"BASTION_HOME": str(bastion_home())}
    shared = os.environ.get(TOOLS_DIR_ENV, "")
    if shared:
        env[TOOLS_DIR_ENV] = str(Path(shared).expanduser())
    return env


def install_command(tool: Tool) -> str:
    """The command a person runs to install ``tool`` ahead of time."""
    return f"bastion tools install {tool.value}"


@dataclass(frozen=True, slots=True)
class ToolManifest:
    """What the installer recorded about an environment it finished."""

    tool: str
    version: str
    requirements_sha256: str
    created: str
    python: str

    def to_json(self) -> str:
        """The manifest file's text."""
        return json.dumps(
            {
                "tool": self.tool,
                "version": self.version,
                "requirements_sha256": self.requirements_sha256,
                "created": self.created,
                "python": self.python,
            },
            indent=2,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ToolManifest:
        """Parse a manifest; ``ValueError`` when it is not one."""
        data: Any = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        fields = ("tool", "version", "requirements_sha256", "created", "python")
        if not all(isinstance(data.get(name), str) for name in fields):
            raise ValueError("manifest lacks a required field")
        return cls(**{name: data[name] for name in fields})


@dataclass(frozen=True, slots=True)
class ToolEnvironment:
    """One tool's environment under a Bastion home (it may or may not exist yet)."""

    spec: ToolSpec
    home: Path
    shared_tools_dir: Path | None = None

    @classmethod
    def for_tool(cls, tool: Tool, home: Path | None = None) -> ToolEnvironment:
        """The environment for the shipped spec of ``tool`` under ``home``.

        With no ``home`` given: the user's home, and ``$BASTION_TOOLS_DIR`` when it is set.
        An explicit ``home`` always means ``<home>/tools``.
        """
        if home is not None:
            return cls(spec=spec_for(tool), home=home)
        shared = os.environ.get(TOOLS_DIR_ENV, "")
        return cls(
            spec=spec_for(tool),
            home=bastion_home(),
            shared_tools_dir=Path(shared).expanduser() if shared else None,
        )

    @property
    def tools_dir(self) -> Path:
        """``<home>/tools`` or the shared tools folder: every environment and the lock files."""
        if self.shared_tools_dir is not None:
            return self.shared_tools_dir
        return self.home / "tools"

    @property
    def path(self) -> Path:
        """The environment's directory."""
        return self.tools_dir / self.spec.env_name

    @property
    def manifest_path(self) -> Path:
        """Where the finished environment's manifest is."""
        return self.path / MANIFEST_NAME

    def manifest(self) -> ToolManifest | None:
        """The manifest if the environment is complete and matches the shipped pins."""
        try:
            manifest = ToolManifest.from_json(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if manifest.requirements_sha256 != self.spec.digest:
            return None
        return manifest

    def is_installed(self) -> bool:
        """True only for a complete environment built from the shipped requirement set."""
        return self.manifest() is not None and self.executable_path().is_file()

    def executable_path(self) -> Path:
        """The tool's console script inside the environment."""
        return self.path / "bin" / self.spec.executable

    def executable(self) -> Path:
        """The console script; :class:`ToolMissingError` naming the fix when not installed."""
        if not self.is_installed():
            raise ToolMissingError(
                f"the {self.spec.tool.value} {self.spec.version} tool environment is not "
                f"installed at {self.path}",
                hint=f"run `{install_command(self.spec.tool)}` (air-gapped: add "
                "--find-links DIR or --index-url URL pointing at a mirror)",
            )
        return self.executable_path()

    def base_prefix(self) -> Path | None:
        """The base Python installation the environment links to (from ``pyvenv.cfg``)."""
        try:
            text = (self.path / "pyvenv.cfg").read_text(encoding="utf-8")
        except OSError:
            return None
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "home":
                # ``home`` is the base interpreter's bin directory; its parent is the prefix.
                return Path(value.strip()).parent
        return None

    def required_binds(self) -> list[Path]:
        """Host directories a sandbox must bind read-only for the tool to run.

        The environment itself and the base Python it was created from (a venv's
        ``bin/python`` is a symlink to that interpreter and its standard library).
        """
        self.executable()
        binds = [self.path]
        prefix = self.base_prefix()
        if prefix is not None:
            binds.append(prefix)
        return binds

    def size_bytes(self) -> int:
        """Disk space the environment uses (0 when absent)."""
        total = 0
        for dirpath, _dirnames, filenames in os.walk(self.path):
            for name in filenames:
                try:
                    total += (Path(dirpath) / name).lstat().st_size
                except OSError:
                    continue
        return total
