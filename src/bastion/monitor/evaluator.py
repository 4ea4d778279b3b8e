"""The evaluator: reads the audit events after its cursor, runs the rules, stores alerts.

    >>> evaluator = Evaluator(db, builtin_rules(), masker)          # doctest: +SKIP
    >>> report = evaluator.run_once(AuditLog(db, witness=None).entries)

Rules are dispatched by action (a rule sees only the actions it names), so evaluation costs
one dictionary look-up for an event no rule reads. A batch's alerts, what its rules learned
and the moved cursor are committed in one transaction: an evaluator that dies mid-batch
judges the batch again from the start, with the baseline as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import islice

from bastion.audit import AuditEntry
from bastion.monitor.alerts import AlertStore
from bastion.monitor.baseline import MemoryBaseline, StoredBaseline
from bastion.monitor.events import RUN_STARTED
from bastion.monitor.interface import Baseline, Observation, Rule, Signal, TextMasker
from bastion.monitor.models import CursorRecord
from bastion.store import Database

__all__ = ["EvaluationReport", "Evaluator", "RuleSet", "observation"]

EntrySource = Callable[[int], Iterable[AuditEntry]]


def observation(entry: AuditEntry) -> Observation:
    """The rules' view of one recorded audit event."""
    event = entry.event
    return Observation(
        entry.seq, entry.time, event.actor, event.action, event.subject, event.outcome.value,
        event.details,
    )  # fmt: skip


class RuleSet:
    """Rules indexed by the actions they read; remembers each run's repository so events
    that name only a run (``secret.released``) are judged in their repository."""

    def __init__(self, rules: Sequence[Rule], baseline: Baseline | None = None) -> None:
        self.baseline: Baseline = baseline if baseline is not None else MemoryBaseline()
        self._by_action: dict[str, list[Rule]] = {}
        for rule in rules:
            for action in rule.actions:
                self._by_action.setdefault(action, []).append(rule)
        self._repos: dict[str, str] = {}

    def evaluate(self, event: Observation) -> Iterator[Signal]:
        """The signals every interested rule raises for ``event``."""
        if event.action == RUN_STARTED and event.text("repo"):
            self._repos[event.subject] = event.text("repo")
        rules = self._by_action.get(event.action)
        if not rules:
            return
        event = self._with_repo(event)
        for rule in rules:
            yield from rule.evaluate(event, self.baseline)

    def _with_repo(self, event: Observation) -> Observation:
        if "repo" in event.details or "run" not in event.details:
            return event
        run = str(event.details["run"])
        repo = self._repos.get(run if run.startswith("run/") else f"run/{run}")
        return replace(event, details={**event.details, "repo": repo}) if repo else event


@dataclass(frozen=True)
class EvaluationReport:
    """What one pass read and raised."""

    events: int
    signals: int
    opened: tuple[int, ...]
    next_seq: int


class Evaluator:
    """Runs ``rules`` over the audit events of ``db`` after the cursor ``name``."""

    def __init__(
        self,
        db: Database,
        rules: Sequence[Rule],
        masker: TextMasker,
        *,
        sinks: Sequence[str] = (),
        name: str = "default",
        batch: int = 1000,
    ) -> None:
        self.alerts = AlertStore(db)
        self.db = db
        self.baseline = StoredBaseline(db)
        self.rules = RuleSet(rules, self.baseline)
        self.masker = masker
        self.sinks = tuple(sinks)
        self.name = name
        self.batch = batch

    def cursor(self) -> int:
        """The next audit seq this evaluator will read."""
        with self.db.session() as session:
            row = session.get(CursorRecord, self.name)
            return row.next_seq if row else 0

    def run_once(self, source: EntrySource) -> EvaluationReport:
        """Judge every event from the cursor on, a batch per transaction."""
        start = self.cursor()
        events, signals, opened = 0, 0, []
        entries = iter(source(start))
        while chunk := list(islice(entries, self.batch)):
            raised = [s for entry in chunk for s in self.rules.evaluate(observation(entry))]
            start = chunk[-1].seq + 1
            with self.db.session() as session:
                opened += self.alerts.open_signals(session, raised, self.masker, self.sinks)
                self.baseline.flush(session)
                row = session.get(CursorRecord, self.name)
                if row is None:
                    session.add(CursorRecord(name=self.name, next_seq=start))
                else:
                    row.next_seq = start
            events += len(chunk)
            signals += len(raised)
        return EvaluationReport(events, signals, tuple(opened), start)
