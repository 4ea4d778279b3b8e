"""bubblewrap availability: missing, refused namespaces, present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bastion.errors import SandboxUnavailableError
from bastion.sandbox import INSTALL_COMMAND, check_sandbox_available


def test_missing_bwrap_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(SandboxUnavailableError) as raised:
        check_sandbox_available(str(tmp_path / "no-bwrap-here"))
    assert raised.value.hint == INSTALL_COMMAND == "apt-get install -y bubblewrap"
    assert raised.value.exit_code == 3
    assert "apt-get install -y bubblewrap" in raised.value.diagnostics()


def test_refused_namespaces_are_explained(tmp_path: Path) -> None:
    # A stand-in executable that fails the way bwrap does where namespaces are refused.
    fake = tmp_path / "bwrap-refused"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    for _ in range(2):  # the verdict is cached, and raised afresh each time
        with pytest.raises(SandboxUnavailableError, match="cannot create the namespaces") as raised:
            check_sandbox_available(str(fake))
        assert "No permissions to create new namespace" in raised.value.message
        assert raised.value.hint is not None
        assert "user namespaces" in raised.value.hint


def test_unrunnable_bwrap(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap-broken"
    fake.write_text("#!/nonexistent/interpreter\n")
    fake.chmod(0o755)
    with pytest.raises(SandboxUnavailableError, match="could not be run"):
        check_sandbox_available(str(fake))


@pytest.mark.integration
def test_real_bubblewrap_is_available() -> None:
    check_sandbox_available()
    check_sandbox_available("/usr/bin/bwrap")
    assert os.access("/usr/bin/bwrap", os.X_OK)
