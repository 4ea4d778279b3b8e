"""What leaves a real ``bastion worker`` for the server: live, masked log lines and uploaded
artifacts, with every message on the broker read by a tap to check no secret goes by."""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kombu
import pytest

from bastion.executors import JobEvent, JobEventKind, JobSpec, JobState, StepSpec, WorkspaceSource
from bastion.executors.celery import CeleryConfig, CeleryExecutor, Pool, PoolKey, make_app
from bastion.executors.celery.channel import EXCHANGE
from tests.executors.celery.brokers import TOKENS, start_worker, stop

pytestmark = pytest.mark.integration

SECRET = "hunter2-very-secret-value"
KEY = PoolKey(Pool.TRUSTED, TOKENS["trusted"].encode())
_kombu: Any = kombu


def _spec(source: Path, job: str, script: str, artifact_dir: Path) -> JobSpec:
    step = StepSpec("s", ("/bin/sh", "-e", "-c", script), timeout_seconds=60)
    return JobSpec(
        run_id=3, job=job, steps=(step,), source=WorkspaceSource(str(source)),
        artifacts=("dist/*",), artifact_dir=str(artifact_dir),
    )  # fmt: skip


class Tap:
    """A second queue bound to the executor's reply route: a copy of every message a
    worker sends the server, exactly as the broker carries it."""

    def __init__(self, broker: str, route: str) -> None:
        self._connection = make_app(broker, Pool.TRUSTED).connection_for_read()
        queue = _kombu.Queue("tap." + route, EXCHANGE, routing_key=route, auto_delete=True)
        self.raw: list[Any] = []
        self._consumer = _kombu.Consumer(
            self._connection.channel(), queues=[queue], callbacks=[self._on], accept=["json"]
        )
        self._consumer.consume()

    def _on(self, body: Any, message: Any) -> None:
        message.ack()
        self.raw.append(body)

    def drain(self, seconds: float = 3.0) -> list[Any]:
        """What arrived, after ``seconds`` more (the executor pings its route each second:
        the queue is never quiet for long)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                self._connection.drain_events(timeout=left)
        return self.raw

    def close(self) -> None:
        self._consumer.cancel()
        self._connection.release()


def _carried(raw: Any) -> bytes:
    """Everything a message carries: its text, and each base64 payload decoded."""
    body = json.loads(raw["body"])
    parts = [json.dumps(raw).encode()]
    if body.get("type") == "artifact":
        parts.append(base64.b64decode(body["data"]))
    if body.get("type") == "event":
        parts.append(base64.b64decode(body["event"]["data"]))
        for report in (body["event"].get("outcome") or {}).get("collected", {}).values():
            parts.append(base64.b64decode(report))
    return b"\n".join(parts)


@pytest.fixture
def worker(broker_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A trusted worker whose scratch folder is under ``tmp_path`` (its TMPDIR)."""
    scratch = tmp_path / "worker-tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    process: subprocess.Popen[bytes] = start_worker(broker_url, "trusted", tmp_path / "w1")
    monkeypatch.delenv("TMPDIR")
    yield scratch
    stop(process)


def _left_on_worker(scratch: Path) -> list[Path]:
    """Files the worker still holds: its scratch folder should be empty between jobs."""
    deadline = time.monotonic() + 10
    while True:
        left = [p for p in scratch.rglob("*") if p.parent != scratch]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def test_worker_output_is_masked_live_and_artifacts_arrive_checked(
    broker_url: str, tmp_path: Path, worker: Path
) -> None:
    source, artifacts = tmp_path / "src", tmp_path / "server-artifacts"
    source.mkdir()
    (source / "app.txt").write_text("hello")
    build = _spec(
        source, "build",
        'echo "first line, token=$API_TOKEN"; sleep 2; mkdir dist; seq 1 120000 > dist/app.txt',
        artifacts,
    )  # fmt: skip
    leak = _spec(source, "leak", 'mkdir dist; echo "$API_TOKEN" > dist/leak.txt', artifacts)
    executor = CeleryExecutor(
        CeleryConfig(broker_url, KEY, queue_timeout_seconds=90),
        secrets_for={"build": {"API_TOKEN": SECRET}, "leak": {"API_TOKEN": SECRET}},
    )
    tap = Tap(broker_url, executor._reply)
    events: list[tuple[float, JobEvent]] = []
    try:
        outcome = executor.submit(build, lambda e: events.append((time.monotonic(), e))).wait(90)
        refused = executor.submit(leak, lambda e: None).wait(90)
        raws = tap.drain()
        carried = [_carried(raw) for raw in raws]
    finally:
        tap.close()
        executor.shutdown()

    assert outcome is not None
    assert outcome.status is JobState.PASSED, outcome
    # Masked on the worker: neither the broker nor the server ever sees the value ...
    assert carried
    assert not [c for c in carried if SECRET.encode() in c]
    # ... while the line itself went by (so the search above looked at real output).
    assert any(b"first line, token=" in c for c in carried)
    output = [(at, e) for at, e in events if e.kind is JobEventKind.OUTPUT]
    assert any(b"first line, token=" in e.data for _, e in output)
    # Live: the first line reached the server while the job still ran (it sleeps 2 s).
    first = next(at for at, e in output if b"first line" in e.data)
    finished = next(at for at, e in events if e.kind is JobEventKind.FINISHED)
    assert finished - first > 1.5
    # The artifact was uploaded (three chunks) and checked against its digest on arrival.
    expected = "".join(f"{n}\n" for n in range(1, 120001)).encode()
    assert outcome.artifacts == ("dist/app.txt",)
    assert (artifacts / "dist" / "app.txt").read_bytes() == expected
    assert [json.loads(raw["body"])["type"] for raw in raws].count("artifact") == 3
    # An artifact holding the secret is refused on the worker and never sent.
    assert refused is not None
    assert refused.status is JobState.FAILED, refused
    assert not (artifacts / "dist" / "leak.txt").exists()
    # The worker keeps nothing after its jobs: no workspace, no staged artifact.
    assert _left_on_worker(worker) == []
