"""Shared pieces of the image gate tests: a Debian-like image and its OSV test data."""

from __future__ import annotations

from pathlib import Path

import pytest

from bastion.scanners.sca import import_path
from tests.oci.builder import ImageSpec, Member

DATA = Path(__file__).parent / "data"
STATUS = (
    b"Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n"
    b"Source: openssl\nVersion: 3.0.11-1~deb12u2\n\n"
    b"Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b2\n\n"
    b"Package: removed-pkg\nStatus: deinstall ok config-files\nVersion: 1.0\n"
)
OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def debian_spec(*extra: list[Member], **config: object) -> ImageSpec:
    """A Debian 12 image: dpkg status and os-release in layer 0, ``extra`` layers above."""
    base = [
        Member("etc/", kind=b"5", mode=0o755),
        Member("etc/os-release", OS_RELEASE),
        Member("var/lib/dpkg/status", STATUS),
        Member("usr/bin/", kind=b"5", mode=0o755),
    ]
    env = {"Env": ["PATH=/usr/local/bin:/usr/bin"], "User": "app", **config}
    return ImageSpec(layers=[base, *extra], config=env)


@pytest.fixture(scope="session")
def debian_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An OSV index holding the Debian test record."""
    directory = tmp_path_factory.mktemp("osv")
    import_path(DATA / "osv-debian", directory, source="test data", snapshot_date="2024-06-01")
    return directory
