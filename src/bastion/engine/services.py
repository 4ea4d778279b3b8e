"""RunServices: the collaborators one run is executed with, built in one place and passed in.

The engine never builds its own sandbox, executor, vault, audit log, signer, gate evaluator
or store: whoever starts a run (the CLI today; the server and a Celery worker tomorrow)
builds a :class:`RunServices` and hands it to :func:`~bastion.engine.local_run.run_local`.
:func:`local_services` is how the CLI builds it for a run on this machine.

    >>> services = local_services(prepared, options)  # doctest: +SKIP
    >>> run_local(options, services=services, prepared=prepared)  # doctest: +SKIP

Collaborators that create keys or files on first use (the vault, the audit checkpoint key,
the signing key) are openers, called only when the run needs them: a run without secrets
opens no vault, a run without artifacts makes no signing key.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from bastion.audit import AuditLog, open_local_log
from bastion.engine.approval_gate import ApprovalGate
from bastion.engine.commit_config import gate_evaluator_at
from bastion.engine.job_identity import ID_TOKEN_FILE, TokenSource
from bastion.engine.job_resources import JobResources
from bastion.engine.model import GateEvaluator
from bastion.executors import LocalExecutor
from bastion.executors.celery import (
    CeleryConfig,
    CeleryExecutor,
    LeaseStore,
    load_pool_key,
    pool_for,
)
from bastion.executors.interface import Executor
from bastion.sandbox import BubblewrapSandbox, UnsafeHostRunner, check_sandbox_available
from bastion.sandbox.interface import Sandbox
from bastion.store import Database
from bastion.supplychain import LocalKey, load_local_signer
from bastion.trust import Trust
from bastion.vault import Vault
from bastion.vault.rotation import open_default_vault

if TYPE_CHECKING:
    from bastion.engine.local_run import LocalRunOptions, PreparedRun

__all__ = [
    "AuditLogOpener",
    "ExecutorFactory",
    "RunServices",
    "SignerOpener",
    "VaultOpener",
    "celery_executor",
    "local_services",
    "make_sandbox",
]

logger = logging.getLogger("bastion.engine")

ExecutorFactory = Callable[[Sandbox, Path, JobResources], Executor]
"""Builds the run's executor over its sandbox, scratch directory and job resources
(released secrets, output masking), which exist only once the run is prepared."""

VaultOpener = Callable[[], Vault]
"""Opens the vault; called only when a job of the run asks for secrets."""

AuditLogOpener = Callable[[], tuple[AuditLog, bool]]
"""Opens the audit log; the flag says its checkpoint key was just created (to tell people)."""

SignerOpener = Callable[[], LocalKey]
"""The key that signs provenance (made on first use); called only when a signing run has
artifacts."""


@dataclass(frozen=True, slots=True)
class RunServices:
    """Everything a run is executed with, besides what it is asked to run.

    ``home`` is where the shared artifact store, tool environments and job caches live;
    ``clock`` stamps the run-level events (run started and finished). ``identity`` signs
    job identity tokens (the server's issuer); None, as in a local ``bastion run``: a job
    that declares ``id-token:`` stops the run before any job starts (fails closed).
    """

    sandbox: Sandbox
    executor: ExecutorFactory
    vault: VaultOpener
    audit: AuditLogOpener
    signer: SignerOpener
    gate_evaluator: GateEvaluator
    store: Database
    home: Path
    clock: Callable[[], float] = time.time
    identity: TokenSource | None = None
    # Decides when a job with ``environment:`` may start (the server's four-eyes approvals);
    # None, as in a local ``bastion run``: such a job is blocked (fails closed).
    approvals: ApprovalGate | None = None


def local_services(
    prepared: PreparedRun,
    options: LocalRunOptions,
    *,
    gate_evaluator: GateEvaluator | None = None,
    home: Path,
    identity: TokenSource | None = None,
    approvals: ApprovalGate | None = None,
) -> RunServices:
    """The services of a run on this machine: bubblewrap, local threads, the home's keys;
    ``identity`` for a server's run (job identity tokens).

    With ``--commit`` the commit's policy and suppressions decide, never the working tree's.
    """
    if gate_evaluator is None:
        commit = prepared.git.commit if options.commit else None
        gate_evaluator = gate_evaluator_at(prepared.root, commit)
    return RunServices(
        sandbox=make_sandbox(options.unsafe_no_sandbox, prepared.state, home),
        executor=partial(_local_executor, max_parallel=options.max_parallel),
        vault=partial(open_default_vault, home, os.environ),
        audit=partial(open_local_log, prepared.db, home),
        signer=partial(load_local_signer, home, create=True),
        gate_evaluator=gate_evaluator,
        store=prepared.db,
        home=home,
        identity=identity,
        approvals=approvals,
    )


def _local_executor(
    sandbox: Sandbox, scratch: Path, resources: JobResources, *, max_parallel: int | None
) -> Executor:
    return LocalExecutor(
        sandbox,
        scratch,
        max_parallel=max_parallel,
        files_for=resources.files_for,
        env_for=resources.env_for,
        output_filter=resources.output_filter,
    )


def celery_executor(
    broker: str, home: Path, trust: Trust, store: Database | None = None
) -> ExecutorFactory:
    """Jobs sent to ``broker``, to the workers of the pool of ``trust`` (a workstation's
    ``local`` run: the ``trusted`` pool), signed with that pool's token under ``home``;
    leases kept in ``store`` (``bastion workers`` reads them there).

    The sandbox is the worker's; the released secrets and the jobs' files (identity
    tokens included) go sealed in each job's grant to the pool's workers, and a job that
    declares ``id-token:`` must get its token there (a worker never runs it without one).
    """
    key = load_pool_key(home, pool_for(trust))
    leases = None if store is None else LeaseStore(store)

    def build(_sandbox: Sandbox, _scratch: Path, resources: JobResources) -> Executor:
        config = CeleryConfig(broker, key, leases=leases)
        return CeleryExecutor(
            config,
            secrets_for=resources.env_for,
            files_for=resources.files_for,
            required_files={job: (ID_TOKEN_FILE,) for job in _token_jobs(resources)},
        )

    return build


def _token_jobs(resources: JobResources) -> set[str]:
    """The jobs given an identity token: minted already (held or not) or at hand-over."""
    held = {job for job, (_env, files) in resources.held_for.items() if ID_TOKEN_FILE in files}
    given = {job for job, files in resources.files_for.items() if ID_TOKEN_FILE in files}
    return given | held | resources.tokens_held


def make_sandbox(unsafe: bool, state: Path | None, home: Path) -> Sandbox:
    """The bubblewrap sandbox, or, only when explicitly asked, the unsafe host runner."""
    if unsafe:
        # Logged, not an event: it is said before the run exists, and must never be missed.
        logger.warning(
            "--unsafe-no-sandbox: jobs run on the host WITHOUT isolation, as %s",
            "root" if sys.platform == "linux" and os.geteuid() == 0 else "this user",
        )
        return UnsafeHostRunner()
    check_sandbox_available()
    # The state directory, keys and vault may never be bound in; gates do get their tool
    # environments and vulnerability database from BASTION_HOME, read-only, one by one.
    return BubblewrapSandbox(state_dir=state, denied_paths=[home / "keys", home / "vault"])
