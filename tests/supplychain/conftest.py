"""Fixtures for the supply-chain tests: a build context factory, a home, a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.supplychain import LocalBlobStore

from .supplychain_support import ContextFactory, make_context


@pytest.fixture
def context_factory() -> ContextFactory:
    """Build contexts with chosen overrides."""
    return make_context


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh BASTION_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    """A fresh local artifact store."""
    return LocalBlobStore(tmp_path / "artifacts")


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    """A small artifact file."""
    path = tmp_path / "dist" / "app.bin"
    path.parent.mkdir()
    path.write_bytes(b"the bytes that were tested are the bytes that ship\n")
    return path
