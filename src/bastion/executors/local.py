"""The local executor: a bounded pool of threads, each running one sandboxed job at a time."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from bastion.executors.interface import JobEventSink, JobOutcome, JobSpec
from bastion.executors.job_runner import OutputFilterFactory, _passthrough, run_job
from bastion.sandbox.interface import Sandbox

__all__ = ["LocalExecutor", "LocalJobHandle"]


class LocalJobHandle:
    """A job running in this process."""

    def __init__(self, future: Future[JobOutcome], cancelled: threading.Event) -> None:
        self._future = future
        self._cancelled = cancelled

    def cancel(self) -> None:
        self._cancelled.set()

    def wait(self, timeout: float | None = None) -> JobOutcome | None:
        try:
            return self._future.result(timeout=timeout)
        except FutureTimeout:
            return None


class LocalExecutor:
    """Runs up to ``max_parallel`` jobs at once on this machine."""

    name = "local"

    def __init__(
        self,
        sandbox: Sandbox,
        workspace_parent: Path,
        *,
        max_parallel: int | None = None,
        files_for: dict[str, dict[str, bytes]] | None = None,
        env_for: dict[str, dict[str, str]] | None = None,
        output_filter: OutputFilterFactory = _passthrough,
    ) -> None:
        self._sandbox = sandbox
        self._workspace_parent = workspace_parent
        self._pool = ThreadPoolExecutor(
            max_workers=max_parallel or max(2, os.cpu_count() or 2),
            thread_name_prefix="bastion-job",
        )
        # The run's own dicts, not copies: a job held for approval has its secrets added
        # once approved (``JobResources.hand_over``), after this executor was made.
        self._files_for = files_for if files_for is not None else {}
        self._env_for = env_for if env_for is not None else {}
        self._output_filter = output_filter
        self._handles: list[LocalJobHandle] = []

    def submit(self, spec: JobSpec, on_event: JobEventSink) -> LocalJobHandle:
        cancelled = threading.Event()
        future = self._pool.submit(
            run_job,
            spec,
            sandbox=self._sandbox,
            workspace_parent=self._workspace_parent,
            on_event=on_event,
            cancelled=cancelled,
            files=self._files_for.get(spec.job),
            secret_env=self._env_for.get(spec.job),
            output_filter=self._output_filter,
        )
        handle = LocalJobHandle(future, cancelled)
        self._handles.append(handle)
        return handle

    def shutdown(self) -> None:
        for handle in self._handles:
            handle.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
