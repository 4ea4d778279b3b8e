"""The monitor in the background: every interval, evaluate the new audit events, then
deliver what is due (``bastion serve`` starts it with the app and stops it at shutdown).

    >>> loop = monitor_loop(db, config, VaultMasker(vault), log.entries)  # doctest: +SKIP
    >>> loop.start(); ...; loop.stop()

A pass that cannot reach the database or a sink is logged and tried again at the next
interval; nothing it owed is dropped (the cursor and the outbox are in the database).
"""

from __future__ import annotations

import logging

from bastion.monitor.config import MonitorConfig
from bastion.monitor.delivery import DeliveryReport, Dispatcher
from bastion.monitor.evaluator import EntrySource, EvaluationReport, Evaluator
from bastion.monitor.interface import TextMasker
from bastion.monitor.rules import builtin_rules
from bastion.periodic import Periodic
from bastion.store import Database

__all__ = ["MonitorLoop", "monitor_loop"]

logger = logging.getLogger("bastion.monitor")


class MonitorLoop:
    """Runs the evaluator over ``source`` and then the dispatcher, every ``interval`` s."""

    def __init__(
        self, evaluator: Evaluator, dispatcher: Dispatcher, source: EntrySource, interval: float
    ) -> None:
        self.evaluator, self.dispatcher = evaluator, dispatcher
        self.source, self.interval = source, interval
        self._thread = Periodic("bastion-monitor", interval, self.run_once, logger, "monitor pass")

    def run_once(self) -> tuple[EvaluationReport, DeliveryReport]:
        """One pass: judge the new events, then send every delivery that is due."""
        return self.evaluator.run_once(self.source), self.dispatcher.deliver_due()

    def start(self) -> None:
        """Start the background thread (once)."""
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the pass in progress to finish."""
        self._thread.stop(timeout)


def monitor_loop(
    db: Database, config: MonitorConfig, masker: TextMasker, source: EntrySource
) -> MonitorLoop:
    """The loop ``config`` describes: its rules, sinks, retry schedule and interval."""
    sinks = config.sinks()
    evaluator = Evaluator(
        db, builtin_rules(config.rules), masker, sinks=[sink.name for sink in sinks]
    )
    dispatcher = Dispatcher(db, sinks, masker, backoff=config.backoff)
    return MonitorLoop(evaluator, dispatcher, source, config.interval)
