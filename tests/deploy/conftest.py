"""Fixtures for deploy tests: a home, a signed store of two zipapp services, an audit log.

The services are small stdlib HTTP servers built as zipapps at test time: ``v1`` answers
200 everywhere; ``v2-broken`` is healthy on /health but answers 500 on every other path;
``v2`` is a good second version. Each is attested and signed through the supply-chain API so
``bastion verify`` passes for it.
"""

from __future__ import annotations

import hashlib
import zipapp
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bastion.audit import AuditEvent, AuditLog, Ed25519NoteSigner
from bastion.deploy import (
    EnvironmentConfig,
    EnvironmentState,
    HAProxy,
    LocalDeployer,
    StepObserver,
    environment_dir,
)
from bastion.deploy.process import free_port, stop_service
from bastion.store import open_database
from bastion.supplychain import (
    BuildContext,
    Digest,
    GateResult,
    LocalBlobStore,
    TrustedKeys,
    attest_artifacts,
    load_local_signer,
)
from bastion.trust import Trust

BUILDER = "https://bastion.example/builder/v1"
REPO = "https://git.example/acme/app"

SERVICE = """
import http.server, os
VERSION, BROKEN = {version!r}, {broken!r}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/health" or not BROKEN else 500
        body = VERSION.encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def build_service(directory: Path, version: str, *, broken: bool = False) -> Path:
    """A zipapp of the small service, built under ``directory``."""
    source = directory / f"src-{version}"
    source.mkdir(parents=True)
    text = SERVICE.format(version=version, broken=broken)
    (source / "__main__.py").write_text(text, encoding="utf-8")
    target = directory / f"service-{version}.pyz"
    zipapp.create_archive(source, target)
    return target


def context(repository: str = REPO) -> BuildContext:
    """A complete build context of a trusted build."""
    return BuildContext(
        builder_id=BUILDER,
        build_type="https://bastion.example/build/pipeline/v1",
        pipeline_path=".bastion/pipeline.yml",
        pipeline_sha256=hashlib.sha256(b"jobs: {}\n").hexdigest(),
        job="build",
        repository=repository,
        commit="0123456789abcdef0123456789abcdef01234567",
        ref="refs/heads/main",
        trigger="push",
        trust=Trust.TRUSTED,
        started=datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        finished=datetime(2026, 11, 1, 10, 5, tzinfo=UTC),
        run_id="run-42",
        gates=(GateResult("secrets", "pass", 0),),
    )


@dataclass
class World:
    """A home with an environment, a signed store, an audit log and the versions."""

    home: Path
    store: LocalBlobStore
    log: AuditLog
    config: EnvironmentConfig
    versions: dict[str, Digest]

    def deployer(self, observer: StepObserver | None = None) -> LocalDeployer:
        """A deployer of the test environment writing to the audit log."""
        trusted = TrustedKeys(self.home).entries()
        return LocalDeployer(
            self.home, self.config, self.store, trusted, self.sink, "tester", observer
        )

    def sink(self, event: AuditEvent) -> None:
        """The audit sink: append now."""
        self.log.append(event)

    def actions(self) -> list[tuple[str, str, str]]:
        """(action, outcome, reason or '') of every audited event, in order."""
        return [
            (e.event.action, e.event.outcome.value, str(e.event.details.get("reason", "")))
            for e in self.log.entries()
        ]

    def state(self) -> EnvironmentState:
        """The environment's saved state."""
        return EnvironmentState.load(environment_dir(self.home, self.config.name))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Signed v1, v2 and v2-broken; environment ``staging`` on a free port; cleaned up."""
    home = tmp_path / "h"
    home.mkdir()
    store = LocalBlobStore(home / "artifacts")
    key = load_local_signer(home, create=True)
    versions = {}
    for version, broken in (("v1", False), ("v2", False), ("v2-broken", True)):
        path = build_service(tmp_path, version, broken=broken)
        [done] = attest_artifacts(store, [path], context(), key.signer)
        versions[version] = done.record.digest
    config = EnvironmentConfig(
        "staging", BUILDER, REPO, free_port(), ref="refs/heads/main", probe_requests=40
    )
    log = AuditLog(open_database("sqlite://"), Ed25519NoteSigner.generate("test/log"))
    world = World(home, store, log, config, versions)
    yield world
    _tear_down(world)


def _tear_down(world: World) -> None:
    state = world.state()
    for slot in state.slots.values():
        stop_service(slot.pid)
    directory = environment_dir(world.home, world.config.name)
    proxy = HAProxy(directory, world.config.port)
    if proxy.pid_path.exists():
        proxy.stop(int(proxy.pid_path.read_text().split()[0]))
    proxy.stop(state.haproxy_pid)
