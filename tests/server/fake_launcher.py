"""A fake of the server's run launcher for tests that need runs queued but never carried out."""

from __future__ import annotations

from dataclasses import dataclass

from bastion.engine.model import RunId
from bastion.server.launcher import RunRequest
from bastion.store import Database, RunRecord


@dataclass
class QueueingLauncher:
    """The launcher interface: queues a run record, runs nothing; ``cancel`` answers
    ``cancels`` (whether the server would say the run could be cancelled)."""

    db: Database
    cancels: bool = False

    def submit(self, request: RunRequest) -> RunId:
        with self.db.session() as session:
            run = RunRecord(
                repo=request.repository.name,
                event=request.event,
                trust="internal",
                pipeline_path="-",
                pipeline_digest="-",
                status="queued",
            )
            session.add(run)
            session.flush()
            return RunId(run.id)

    def cancel(self, run_id: int) -> bool:
        return self.cancels

    def close(self) -> None:
        return None
