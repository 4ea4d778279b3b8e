"""Security monitoring: anomaly rules over the audit log → alerts, and their delivery.

    >>> from bastion.store import open_database
    >>> from bastion.audit import AuditEvent, AuditLog
    >>> from bastion.monitor import Evaluator, builtin_rules, PlainText
    >>> db = open_database("sqlite://")
    >>> log = AuditLog(db, witness=None)
    >>> _ = log.append(AuditEvent("bastion", "verify.performed", "sha256:ab", "denied"))
    >>> Evaluator(db, builtin_rules(), PlainText()).run_once(log.entries).opened
    (1,)

Every alert's title and detail pass a masker (:class:`TextMasker`; the server and CLI give
the vault's) before they are stored, so no sink, page or command sees a secret value.

Security model. You can rely on: every event is judged exactly once per evaluator (the
cursor moves in the same transaction as the alerts it raised); an alert owed to a sink is
kept until the sink takes it or it is dead-lettered, never dropped; webhook bodies carry an
HMAC-SHA256 of the exact bytes sent. You must not assume: that ``new-dependency`` sees
packages added other than through a forge delivery (a local ``bastion run`` records no
``dependencies.changed``), or in a repository's first delivery (learned, not alerted); that a
``deploy.started`` recorded before deploys carried their source's ref, protection and trust
is judged by more than its absence (it is reported as from an unprotected ref and unknown
trust); that a failed-login burst spanning an evaluator restart is seen.
"""

from __future__ import annotations

from bastion.monitor.alerts import Alert, AlertStore, masked
from bastion.monitor.baseline import MemoryBaseline, StoredBaseline
from bastion.monitor.config import (
    MONITOR_FILE,
    MonitorConfig,
    SmtpSettings,
    WebhookSettings,
    load_monitor_config,
    parse_monitor_config,
)
from bastion.monitor.delivery import Backoff, DeadLetter, DeliveryReport, Dispatcher
from bastion.monitor.deployed import (
    POST_DEPLOYMENT_RULE,
    DeployedPackage,
    RescanReport,
    deployed_artifacts,
    rescan_deployed,
    sbom_packages,
)
from bastion.monitor.evaluator import EvaluationReport, Evaluator, RuleSet, observation
from bastion.monitor.interface import (
    AlertNotFoundError,
    AlertState,
    Baseline,
    DeliveryError,
    MonitorError,
    Observation,
    Rule,
    RuleFileError,
    Severity,
    Signal,
    TextMasker,
)
from bastion.monitor.kpi import KpiReport, compute_kpis, record_sbom_components, refresh_facts
from bastion.monitor.masking import PlainText, VaultMasker
from bastion.monitor.metrics import CONTENT_TYPE, render_metrics
from bastion.monitor.models import MONITOR_CHAIN
from bastion.monitor.rulefile import load_rule_file, parse_rule_file
from bastion.monitor.rules import BUILTIN_RULES, RULE_NAMES, builtin_rules
from bastion.monitor.service import MonitorLoop, monitor_loop
from bastion.monitor.settings import DeployWindow, RuleSettings

__all__ = [
    "BUILTIN_RULES",
    "CONTENT_TYPE",
    "MONITOR_CHAIN",
    "MONITOR_FILE",
    "POST_DEPLOYMENT_RULE",
    "RULE_NAMES",
    "Alert",
    "AlertNotFoundError",
    "AlertState",
    "AlertStore",
    "Backoff",
    "Baseline",
    "DeadLetter",
    "DeliveryError",
    "DeliveryReport",
    "DeployWindow",
    "DeployedPackage",
    "Dispatcher",
    "EvaluationReport",
    "Evaluator",
    "KpiReport",
    "MemoryBaseline",
    "MonitorConfig",
    "MonitorError",
    "MonitorLoop",
    "Observation",
    "PlainText",
    "RescanReport",
    "Rule",
    "RuleFileError",
    "RuleSet",
    "RuleSettings",
    "Severity",
    "Signal",
    "SmtpSettings",
    "StoredBaseline",
    "TextMasker",
    "VaultMasker",
    "WebhookSettings",
    "builtin_rules",
    "compute_kpis",
    "deployed_artifacts",
    "load_monitor_config",
    "load_rule_file",
    "masked",
    "monitor_loop",
    "observation",
    "parse_monitor_config",
    "parse_rule_file",
    "record_sbom_components",
    "refresh_facts",
    "render_metrics",
    "rescan_deployed",
    "sbom_packages",
]
