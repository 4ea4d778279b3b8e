"""What a run hands its jobs beside the spec: released secrets, a log masker, egress proxies.

- Secrets: every job's ``secrets:`` are released from the vault *before the first job
  starts*; a secret out of scope stops the run with the vault's reason (nothing has run).
  An untrusted run asks the vault and the issuer nothing: each job wanting a secret or a
  token is refused alone (:attr:`JobResources.withheld`, see
  :mod:`~bastion.engine.withheld_jobs`) and every other job, every gate, still runs.
  Each release is an audit event, appended (``record``) before the value is handed on.
  Values reach the job as environment variables and as files in ``/run/bastion`` (a tmpfs
  that vanishes with the sandbox), never in the spec.
- Identity: a job with ``id-token:`` gets a signed token in ``/run/bastion/id-token``
  (:mod:`~bastion.engine.job_identity`), masked like a secret. A held job's token is minted
  at hand-over, not at run start (it lives ten minutes at most; approvals take longer), and
  added to the run's masking in place before the job can read it.
- Environments: a job with ``environment:`` has its secrets and token *held*
  (:meth:`JobResources.hold`): nothing of it is in ``env_for``/``files_for``, which is all an
  executor reads, until its approval gate approves it and :meth:`JobResources.hand_over`
  moves them there (audited as ``secret.handed_over``). A refused, rejected or expired
  deploy never reaches its environment's secrets, and no other job of the run ever could:
  the vault's scope already limits a secret scoped to an environment to that job.
- Masking: the released values are compiled once (:class:`~bastion.engine.run_masking.RunMasking`)
  and every job's output, reasons, reports, egress records and stored files pass them.
- Egress: a job with a host allow-list gets its own logging proxy on a Unix socket; each
  request is appended to ``<logs>/<run>/<job>.egress.jsonl`` (and, in learn mode, the hosts
  are collected for the allow-list to paste).
"""

from __future__ import annotations

import ipaddress
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bastion.audit import Action, AuditEvent, Outcome
from bastion.engine.job_identity import (
    ID_TOKEN_FILE,
    JobTokenMinter,
    TokenSource,
    id_token_minter,
    token_masking_values,
)
from bastion.engine.run_masking import RunMasking
from bastion.engine.withheld_jobs import withheld_jobs
from bastion.errors import BastionError, PipelineError, UsageError
from bastion.executors import JobMasking, JobSpec, NoMasking
from bastion.pipeline import Plan, job_file_name
from bastion.sandbox.egress import (
    AllowList,
    AllowListError,
    EgressProxy,
    EgressRecord,
    LearningRecorder,
)
from bastion.trust import RunContext
from bastion.vault import RequestContext, Vault
from bastion.vault.rotation import open_default_vault

__all__ = ["AuditRecord", "JobResources", "Locator", "prepare_job_resources"]

Locator = Callable[[tuple[str | int, ...]], tuple[int, int] | None]
"""Where a value of the pipeline file is: (line, column), 1-based, or None if unknown."""


AuditRecord = Callable[[Sequence[AuditEvent]], None]
"""Appends audit events now; raises when they cannot be written (the release stops)."""
HANDED_OVER = "secret.handed_over"  # the held secrets reached the approved job


@dataclass
class JobResources:
    """Per-job secrets and proxies of one run; :meth:`close` stops every proxy."""

    env_for: dict[str, dict[str, str]] = field(default_factory=dict)
    files_for: dict[str, dict[str, bytes]] = field(default_factory=dict)
    proxy_sockets: dict[str, str] = field(default_factory=dict)
    learner: LearningRecorder | None = None
    held_for: dict[str, tuple[dict[str, str], dict[str, bytes]]] = field(default_factory=dict)
    record: AuditRecord | None = None  # where a hand-over is audited (None: not audited)
    withheld: dict[str, str] = field(default_factory=dict)  # job -> why it is refused
    run_id: int = 0
    _values: dict[str, str] = field(default_factory=dict)
    _proxies: list[EgressProxy] = field(default_factory=list)
    masking: JobMasking = field(default_factory=NoMasking)
    mint_token: Callable[[str], str] | None = None  # a job's token, minted and audited now
    tokens_held: set[str] = field(default_factory=set)  # held jobs whose token is not minted

    def output_filter(self, _spec: JobSpec) -> JobMasking:
        """The run's masking, for any job (built once, in prepare; a no-op without secrets)."""
        return self.masking

    def hold(self, job: str) -> None:
        """Take ``job``'s secrets and token out of what executors read, until approved."""
        env, files = self.env_for.pop(job, {}), self.files_for.pop(job, {})
        if env or files:
            self.held_for[job] = (env, files)

    def hand_over(self, job: str) -> None:
        """``job`` was approved: what was held for it becomes readable by the executor,
        audited first (an audit that cannot be written hands nothing over)."""
        if job in self.tokens_held:
            self._mint_held_token(job)
        if job not in self.held_for:
            return
        env, files = self.held_for[job]
        if self.record is not None:
            names = ",".join(sorted(files))
            details = {"job": job, "run": str(self.run_id), "names": names}
            self.record([AuditEvent("bastion", HANDED_OVER, f"job/{job}", details=details)])
        del self.held_for[job]
        if env:
            self.env_for.setdefault(job, {}).update(env)
        if files:
            self.files_for.setdefault(job, {}).update(files)

    def _mint_held_token(self, job: str) -> None:
        """Mint ``job``'s token now (its ``iat``/``exp`` from the hand-over) and mask it in
        place before it is held for the job; raises, handing nothing over, if it cannot."""
        if self.mint_token is None or not isinstance(self.masking, RunMasking):
            raise PipelineError(f"jobs.{job}.id-token: this run cannot mint or mask a token")
        try:
            token = self.mint_token(job)  # audited identity.issued before it is returned
        except BastionError as exc:
            raise PipelineError(
                f"jobs.{job}.id-token: the identity issuer gave no token: {exc.message}"
            ) from exc
        self.masking.extend(token_masking_values(job, token))
        self.tokens_held.discard(job)
        self.held_for.setdefault(job, ({}, {}))[1][ID_TOKEN_FILE] = token.encode()

    def close(self) -> None:
        for proxy in self._proxies:
            proxy.stop()
        self._proxies.clear()


def _release_secrets(
    plan: Plan,
    context: RunContext,
    run_id: int,
    open_vault: Callable[[], Vault],
    resources: JobResources,
    record: AuditRecord,
) -> None:
    wanted = {name: job for name, job in plan.jobs.items() if job.secrets}
    if not wanted:
        return
    vault = open_vault()

    def on_release(name: str, job: str, run: str) -> None:
        # Logged before the value leaves the vault's call, let alone reaches a sandbox.
        # A job with an environment gets it only when approved (held, then handed over).
        environment = plan.jobs[job].environment
        held = {"held_until_approval_of": environment} if environment else {}
        record(
            [
                AuditEvent(
                    "bastion",
                    Action.SECRET_RELEASED.value,
                    f"secret/{name}",
                    details={"job": job, "run": run, **held},
                )
            ]
        )

    for name, job in wanted.items():
        request = RequestContext(
            repo=context.repo,
            ref=context.ref,
            environment=job.environment,
            trust=context.trust,
            job=name,
            run=str(run_id),
        )
        values = vault.release(job.secrets, request, on_release=on_release)
        resources.env_for[name] = dict(values)
        resources.files_for[name] = {key: value.encode() for key, value in values.items()}
        resources._values.update(values)


def _egress_writer(path: Path, masking: JobMasking) -> Callable[[EgressRecord], None]:
    lock = threading.Lock()

    def write(record: EgressRecord) -> None:
        line = json.dumps(asdict(record), default=str, sort_keys=True)
        # A job can put a secret in the host name or path it asks for: the record is a
        # log like any other and is masked the same way.
        line = masking.text(line)
        with lock:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")

    return write


EGRESS_REQUEST = "egress.request"


def _egress_auditor(
    write: Callable[[EgressRecord], None], resources: JobResources, repo: str
) -> Callable[[EgressRecord], None]:
    """Each request the proxy decides, also as an ``egress.request`` audit event (what the
    monitor's new-egress-host and egress-denied rules read), masked like the job's log."""

    def log(record: EgressRecord) -> None:
        write(record)
        if resources.record is None:
            return
        mask = resources.masking.text
        details = {"repo": repo, "job": record.job, "host": mask(record.host),
                   "port": record.port, "reason": mask(record.reason)}  # fmt: skip
        outcome = Outcome.SUCCESS if record.allowed else Outcome.DENIED
        subject = f"run/{resources.run_id}/job/{record.job}"
        resources.record([AuditEvent("bastion", EGRESS_REQUEST, subject, outcome, details)])

    return log


TRUSTED_ADDRESSES_ENV = "BASTION_EGRESS_TRUSTED_ADDRESSES"


def _operator_addresses() -> list[str]:
    """Addresses the machine's operator vouches for (``$BASTION_EGRESS_TRUSTED_ADDRESSES``).

    Non-public destinations are refused unless listed; on a machine whose package index is
    an internal mirror (a private or reserved address), the operator lists that address
    here once instead of every pipeline naming it. Added only to jobs that already have an
    allow-list: a job with ``network: none`` still has no network.
    """
    raw = os.environ.get(TRUSTED_ADDRESSES_ENV, "")
    entries = [entry.strip() for entry in raw.split(",") if entry.strip()]
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise UsageError(
                f"${TRUSTED_ADDRESSES_ENV}: {entry!r} is not an IP address or range",
                hint="a comma-separated list of addresses or CIDR ranges; names belong in "
                "a job's `network:`",
            ) from exc
    return entries


def _start_proxies(
    plan: Plan,
    source: str,
    scratch: Path,
    log_dir: Path,
    learn: bool,
    resources: JobResources,
    locate: Locator | None,
    repo: str,
) -> None:
    trusted = _operator_addresses()
    for index, (name, job) in enumerate(plan.jobs.items()):
        if job.network == "host" or (job.network == "none" and not learn):
            continue  # in learn mode every non-host job goes through a recording proxy
        try:
            hosts = [*job.network, *trusted] if isinstance(job.network, list) else []
            policy: Any = resources.learner if learn else AllowList.parse(hosts, path=source)
        except AllowListError as exc:
            where = locate(("jobs", plan.origin(name), "network", exc.index)) if locate else None
            line, column = where or (None, None)
            raise PipelineError(
                f"jobs.{name}.network: {exc.message}",
                path=source,
                line=line,
                column=column,
                hint=exc.hint,
            ) from exc
        write = _egress_writer(log_dir / f"{job_file_name(name)}.egress.jsonl", resources.masking)
        log = _egress_auditor(write, resources, repo)
        proxy = EgressProxy(policy, log, job=name)
        # Numbered, not named: a Unix socket path holds at most 107 bytes.
        socket_path = scratch / f"egress-{index}.sock"
        proxy.start(socket_path)
        resources._proxies.append(proxy)
        resources.proxy_sockets[name] = str(socket_path)


def _mint_unheld_tokens(plan: Plan, minter: JobTokenMinter, resources: JobResources) -> None:
    """Tokens of jobs that start at once; a held job's is minted when approved (hand_over)."""
    resources.mint_token = minter.mint
    for name in minter.jobs:
        if plan.jobs[name].environment is not None:
            resources.tokens_held.add(name)
            continue
        token = minter.mint(name)
        resources.files_for.setdefault(name, {})[ID_TOKEN_FILE] = token.encode()
        resources._values.update(token_masking_values(name, token))


def prepare_job_resources(
    *,
    plan: Plan,
    context: RunContext,
    run_id: int,
    pipeline_source: str,
    home: Path,
    scratch: Path,
    log_dir: Path,
    record: AuditRecord,
    learn_egress: bool = False,
    locate: Locator | None = None,
    open_vault: Callable[[], Vault] | None = None,
    identity: TokenSource | None = None,
) -> JobResources:
    """Release secrets and start proxies; on any error nothing is left running.

    ``open_vault`` opens the run's vault (:class:`~bastion.engine.services.RunServices`);
    without it, the default vault under ``home``.

    ``locate`` maps a path in the pipeline document (``("jobs", "test", "network", 2)``) to
    its (line, column), so a bad allow-list entry is reported where it is written.
    ``identity`` signs the tokens of ``id-token:`` jobs (None: such a job stops the run).
    """
    resources = JobResources(
        learner=LearningRecorder() if learn_egress else None, record=record, run_id=run_id
    )
    try:
        opener = open_vault or (lambda: open_default_vault(home, os.environ))
        # Untrusted: nothing is released or minted, so nothing can leak; the jobs that
        # asked are refused one by one by the scheduler instead of stopping the run.
        resources.withheld = withheld_jobs(plan, context.trust)
        minter = None
        if context.trust.receives_secrets:
            _release_secrets(plan, context, run_id, opener, resources, record)
            minter = id_token_minter(
                plan=plan,
                context=context,
                run_id=run_id,
                source=identity,
                record=record,
                pipeline_source=pipeline_source,
                locate=locate,
            )
        if minter is not None:
            _mint_unheld_tokens(plan, minter, resources)
        if resources._values or resources.tokens_held:
            # Once per run: every job, step, message, record and stored file reuses it.
            # Host names are case-insensitive and logged lower-cased: with an egress proxy
            # in the run, the lower-cased forms are masked too.
            lowercase = learn_egress or any(isinstance(j.network, list) for j in plan.jobs.values())
            resources.masking = RunMasking.build(resources._values, lowercase=lowercase)
        _start_proxies(
            plan, pipeline_source, scratch, log_dir, learn_egress, resources, locate, context.repo
        )
        for name, job in plan.jobs.items():
            if job.environment is not None:
                resources.hold(name)
    except BaseException:
        resources.close()
        raise
    return resources
