"""The recorder: an observer that writes a run's record to the database and its logs to files.

A database that goes away mid-run (a PostgreSQL restart) loses nothing: the changes that could
not be written stay queued, in order, and are written once it answers again; the end of the
run waits for it up to :data:`OUTAGE_SECONDS` before it fails with StoreError.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import insert, update
from sqlalchemy.exc import SQLAlchemyError

from bastion.engine.events import Event, JobChanged, JobOutput, RunFinished, RunStarted, StepChanged
from bastion.engine.gate_log import gate_log_lines
from bastion.engine.model import GateVerdict, JobState, RunContext, RunId
from bastion.engine.run_findings import JudgedFinding
from bastion.errors import StoreError
from bastion.pipeline import job_file_name
from bastion.store import Database, FindingRecord, JobRecord, RunRecord, StepRecord

__all__ = ["OUTAGE_SECONDS", "Recorder", "create_run"]

OUTAGE_SECONDS = 120.0
"""How long the end of a run waits for an absent database before the run's record fails."""

logger = logging.getLogger("bastion.engine")


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


_T = TypeVar("_T")


def _present(value: _T | None, what: str) -> _T:
    if value is None:
        raise StoreError(f"{what} vanished from the state database during the run")
    return value


# Column widths of the ``findings`` table: PostgreSQL refuses a longer value, which would
# lose the whole batch of a run's record, so a value is cut to fit (the report keeps it all).
_WIDTHS = {"job": 256, "gate": 64, "rule_id": 512, "severity": 16, "path": 2048, "fingerprint": 128}


def _finding_row(run_id: RunId | None, job: str, finding: JudgedFinding) -> dict[str, Any]:
    row: dict[str, Any] = {"run_id": _present(run_id, "run"), "job": job, **finding.to_dict()}
    for column, width in _WIDTHS.items():
        row[column] = str(row[column])[:width]
    return row


def create_run(db: Database, context: RunContext, pipeline_source: str, digest: str) -> RunId:
    """Insert a queued run and return its id."""
    with db.session() as session:
        record = RunRecord(
            repo=context.repo,
            commit=context.commit,
            ref=context.ref,
            event=context.event,
            trust=context.trust.value,
            pipeline_path=pipeline_source,
            pipeline_digest=digest,
            status="queued",
        )
        session.add(record)
        session.flush()
        return RunId(record.id)


class Recorder:
    """Persists every state change; appends job output to ``<logs>/<run>/<job>.log``.

    Writes are batched: changes queue up and a background thread commits them in one
    transaction every ``flush_interval`` seconds (and at the end of the run), because a commit
    per event costs milliseconds and a 500-job run emits thousands of events.
    """

    def __init__(self, db: Database, log_root: Path, flush_interval: float = 0.2) -> None:
        self.db = db
        self.log_root = log_root
        self._logs: dict[str, IO[bytes]] = {}
        self._job_ids: dict[str, int] = {}
        self._run_id: RunId | None = None
        self._pending: list[Any] = []
        self._batch: tuple[int, list[Any], bool] | None = None
        """The batch being written: its number, statements, and whether a try failed."""
        self._batches = 0
        """The last batch committed (the run's ``record_batch``)."""
        self._lock = threading.Lock()
        self._interval = flush_interval
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        self._failing = False  # said once per outage, not every interval

    def log_path(self, run_id: RunId, job: str) -> Path:
        # An expanded matrix job's name has spaces and values from the file: slug it.
        return self.log_root / str(run_id) / f"{job_file_name(job)}.log"

    def __call__(self, event: Event) -> None:
        if isinstance(event, JobOutput):
            self._log(event.job).write(event.data)
        elif isinstance(event, RunStarted):
            self._started(event)
        elif isinstance(event, JobChanged):
            self._job_changed(event)
        elif isinstance(event, StepChanged):
            self._step_changed(event)
        elif isinstance(event, RunFinished):
            self._finished(event)

    def _log(self, job: str) -> IO[bytes]:
        handle = self._logs.get(job)
        if handle is None:
            path = self.log_path(_present(self._run_id, "run"), job)
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = path.open("ab", buffering=64 * 1024)
            self._logs[job] = handle
        return handle

    def _queue(self, statement: Any) -> None:
        with self._lock:
            self._pending.append(statement)

    def flush(self) -> None:
        """Commit every queued change, a batch per transaction; StoreError when the database
        does not answer, the batch kept whole to be written again first.

        Each batch moves the run's ``record_batch`` from n - 1 to n in its own transaction:
        a batch whose commit reached the database but whose answer was lost (a PostgreSQL
        restart) finds n already there when it is tried again, and is not written twice
        (which left a step row doubled, one copy ``running``)."""
        while True:
            with self._lock:
                if self._batch is None:
                    if not self._pending:
                        return
                    self._batch = (self._batches + 1, self._pending, False)
                    self._pending = []
                number, statements, tried = self._batch
            self._write_batch(number, statements, tried)
            with self._lock:
                self._batches, self._batch = number, None

    def _write_batch(self, number: int, statements: list[Any], tried: bool) -> None:
        run_id = _present(self._run_id, "run")
        claim = (
            update(RunRecord)
            .where(RunRecord.id == run_id, RunRecord.record_batch == number - 1)
            .values(record_batch=number)
        )
        try:
            with self.db.engine.begin() as connection:
                if connection.execute(claim).rowcount == 1:
                    for statement in statements:
                        connection.execute(statement)
                elif not tried:
                    raise StoreError(
                        f"run {run_id}: its record was written by another process "
                        f"(batch {number} expected to follow {number - 1})"
                    )
                # else: an earlier try of this batch was committed; its answer was lost.
        except SQLAlchemyError as exc:
            with self._lock:
                self._batch = (number, statements, True)
            raise StoreError(f"cannot record the run: {exc}") from exc

    def _flush_loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._try_flush()
            self._flush_logs()

    def _try_flush(self) -> bool:
        """Flush; False (said once per outage) when the database does not answer."""
        try:
            self.flush()
        except StoreError as exc:
            if not self._failing:
                logger.warning("run %s: %s; kept until it answers", self._run_id, exc.message)
            self._failing = True
            return False
        if self._failing:
            logger.warning("run %s: the database answers again; record written", self._run_id)
        self._failing = False
        return True

    def _final_flush(self) -> None:
        """The run's last changes, waiting up to OUTAGE_SECONDS for an absent database."""
        deadline = time.monotonic() + OUTAGE_SECONDS
        while not self._try_flush():
            if time.monotonic() > deadline:
                self.flush()  # raises StoreError naming the database's error
            time.sleep(1.0)

    def _flush_logs(self) -> None:
        """Put the jobs' buffered output on disk, where live viewers read it (already
        masked: only masked output reaches the recorder)."""
        for handle in list(self._logs.values()):
            with contextlib.suppress(ValueError):  # closed as its job ended meanwhile
                handle.flush()

    def _started(self, event: RunStarted) -> None:
        self._run_id = event.run_id
        with self.db.session() as session:
            run = _present(session.get(RunRecord, event.run_id), f"run {event.run_id}")
            run.status = "running"
            run.started_at = _at(event.at)
            for name in event.jobs:
                job = JobRecord(
                    run_id=event.run_id,
                    name=name,
                    kind=event.kinds[name],
                    status=JobState.QUEUED.value,
                    log_path=str(self.log_path(event.run_id, name)),
                )
                session.add(job)
            session.flush()
            for job in run.jobs:
                self._job_ids[job.name] = job.id
        # The folder every job's recorded log path names, there even before any output.
        (self.log_root / str(event.run_id)).mkdir(parents=True, exist_ok=True, mode=0o700)
        self._flusher = threading.Thread(
            target=self._flush_loop, daemon=True, name="bastion-recorder"
        )
        self._flusher.start()

    def _job_changed(self, event: JobChanged) -> None:
        if event.verdict is not None and event.state.final:
            self._record_verdict(event.job, event.verdict)
        if event.state.final and event.job in self._logs:
            self._logs.pop(event.job).close()
        values: dict[str, Any] = {"status": event.state.value, "reason": event.reason}
        if event.state is JobState.RUNNING:
            values["started_at"] = _at(event.at)
        elif event.state.final:
            values["finished_at"] = _at(event.at)
            result: dict[str, object] = {}
            if event.verdict is not None:
                result["verdict"] = {
                    "passed": event.verdict.passed,
                    "reasons": list(event.verdict.reasons),
                    "summary": event.verdict.to_summary(),
                }
            if event.artifacts:
                result["artifacts"] = list(event.artifacts)
            values["result"] = result or None
        job_id = self._job_ids[event.job]
        self._queue(update(JobRecord).where(JobRecord.id == job_id).values(**values))

    def _record_verdict(self, job: str, verdict: GateVerdict) -> None:
        """A gate job's findings into the ``findings`` table, its verdict into its log."""
        text = "\n".join(gate_log_lines(verdict)) + "\n"
        self._log(job).write(text.encode("utf-8", "replace"))
        if verdict.judged:
            rows = [_finding_row(self._run_id, job, finding) for finding in verdict.judged]
            self._queue(insert(FindingRecord).values(rows))

    def _step_changed(self, event: StepChanged) -> None:
        job_id = self._job_ids[event.job]
        if event.state is JobState.RUNNING:
            self._queue(
                insert(StepRecord).values(
                    job_id=job_id,
                    index=event.index,
                    name=event.name,
                    status=event.state.value,
                    started_at=_at(event.at),
                )
            )
        else:
            self._queue(
                update(StepRecord)
                .where(StepRecord.job_id == job_id, StepRecord.index == event.index)
                .values(
                    status=event.state.value, exit_code=event.exit_code, finished_at=_at(event.at)
                )
            )

    def _finished(self, event: RunFinished) -> None:
        for handle in self._logs.values():
            handle.close()
        self._logs.clear()
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join()
        failed = {job: why for job, why in event.reasons.items() if why}
        self._queue(
            update(RunRecord)
            .where(RunRecord.id == event.run_id)
            .values(
                status=event.state.value,
                finished_at=_at(event.at),
                reason="; ".join(f"{job}: {why}" for job, why in failed.items())[:4000] or None,
            )
        )
        self._final_flush()
