"""One ephemeral, isolated step: bubblewrap, workspaces, limits, egress forwarding.

    >>> import tempfile
    >>> from pathlib import Path
    >>> from bastion.sandbox import BubblewrapSandbox, SandboxSpec, Workspace
    >>> chunks: list[bytes] = []
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     source = Path(tmp, "repo")
    ...     source.mkdir()
    ...     _ = (source / "hello.txt").write_text("hi\\n")
    ...     with Workspace.from_working_tree(source, parent=Path(tmp)) as ws:
    ...         spec = SandboxSpec(argv=["cat", "hello.txt"], workspace=ws.path)
    ...         result = BubblewrapSandbox().run(spec, chunks.append)
    >>> result.exit_code, b"".join(chunks)
    (0, b'hi\\n')

The engine codes against :class:`Sandbox` (``interface.py``); :class:`BubblewrapSandbox`
is the implementation, :class:`UnsafeHostRunner` the explicit ``--unsafe-no-sandbox`` escape
hatch. :func:`check_sandbox_available` raises ``SandboxUnavailableError`` (exit 3) with the
install command when bubblewrap cannot isolate jobs here.
"""

from bastion.sandbox.availability import INSTALL_COMMAND, check_sandbox_available
from bastion.sandbox.bubblewrap import BubblewrapSandbox
from bastion.sandbox.interface import (
    MAX_NICE,
    Limits,
    NetworkMode,
    NetworkPolicy,
    OutputSink,
    Sandbox,
    SandboxResult,
    SandboxSpec,
)
from bastion.sandbox.runtime import bastion_runtime_binds
from bastion.sandbox.syscalls import SyscallGroup
from bastion.sandbox.uids import JobUidPool
from bastion.sandbox.unsafe import UnsafeHostRunner
from bastion.sandbox.workspace import (
    Workspace,
    grant_workspace,
    source_date_epoch,
    survey_source,
)

__all__ = [
    "INSTALL_COMMAND",
    "MAX_NICE",
    "BubblewrapSandbox",
    "JobUidPool",
    "Limits",
    "NetworkMode",
    "NetworkPolicy",
    "OutputSink",
    "Sandbox",
    "SandboxResult",
    "SandboxSpec",
    "SyscallGroup",
    "UnsafeHostRunner",
    "Workspace",
    "bastion_runtime_binds",
    "check_sandbox_available",
    "grant_workspace",
    "source_date_epoch",
    "survey_source",
]
