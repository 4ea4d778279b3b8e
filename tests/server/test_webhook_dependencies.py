"""A delivery whose commit adds packages to a lock file is recorded as ``dependencies.changed``
(issue 16), and the monitor's ``new-dependency`` rule alerts on the new names; a version bump,
a change elsewhere and the repository's first delivery raise nothing; a lock file the parsers
refuse alerts (its dependencies are unknown)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.audit import AuditLog
from bastion.monitor import AlertStore, Evaluator, PlainText, builtin_rules
from bastion.server.webhook_dependencies import dependency_changes
from tests.server.test_webhooks import Forged, git, make_forged
from tests.server.webhook_payloads import github_pull, github_push

LOCK = "requests==2.31.0\nidna==3.6\n"
WEB_LOCK = """{"name": "web", "lockfileVersion": 3, "packages": {
  "": {"name": "web", "dependencies": {"left-pad": "1.3.0"}},
  "node_modules/left-pad": {"version": "1.3.0"}%s}}
"""
EVENT_STREAM = ',\n  "node_modules/event-stream": {"version": "3.3.6"}'


@pytest.fixture
def forged(tmp_path: Path) -> Iterator[Forged]:
    """The forge's main holds two lock files and was delivered once (the initial inventory)."""
    made = make_forged(tmp_path)
    made.commit("locks", **{"requirements.txt": LOCK, "web/package-lock.json": WEB_LOCK % ""})
    made.push("main")
    head = git(made.work, "rev-parse", "HEAD")
    try:
        assert made.github("push", github_push("refs/heads/main", head)).status_code == 202
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


def _recorded(forged: Forged) -> list[dict[str, object]]:
    return [
        dict(e.details) for e in forged.server.audit.events if e.action == "dependencies.changed"
    ]


def _alerts(forged: Forged) -> list[tuple[str, str]]:
    """Every event the server recorded judged by the built-in rules: the alerts raised."""
    log = AuditLog(forged.server.db, witness=None)
    for event in forged.server.audit.events:
        log.append(event)
    Evaluator(forged.server.db, builtin_rules(), PlainText()).run_once(log.entries)
    return [(a.rule, a.title) for a in AlertStore(forged.server.db).list()]


def test_the_first_delivery_is_an_initial_inventory_and_alerts_nothing(forged: Forged) -> None:
    recorded = _recorded(forged)
    assert [(d["lockfile"], d["initial"]) for d in recorded] == [
        ("requirements.txt", True),
        ("web/package-lock.json", True),
    ]
    assert recorded[0]["added"] == [
        {"ecosystem": "PyPI", "name": "idna", "version": "3.6"},
        {"ecosystem": "PyPI", "name": "requests", "version": "2.31.0"},
    ]
    assert [a for a in _alerts(forged) if a[0] == "new-dependency"] == []


def test_a_pull_request_adding_a_package_alerts_but_not_a_bump(forged: Forged) -> None:
    lock = "requests==2.32.0\nidna==3.6\nreqeusts==1.0.0\n"
    head = _pull_request(forged, 7, **{"requirements.txt": lock, "src.py": "x = 1\n"})
    assert forged.github("pull_request", github_pull("opened", 7, head)).status_code == 202
    [details] = _recorded(forged)[2:]
    assert (details["lockfile"], details["commit"], details["initial"]) == (
        "requirements.txt",
        head,
        False,
    )
    assert details["added"] == [{"ecosystem": "PyPI", "name": "reqeusts", "version": "1.0.0"}]
    assert [a for a in _alerts(forged) if a[0] == "new-dependency"] == [
        ("new-dependency", "new dependency PyPI:reqeusts@1.0.0")
    ]


def test_a_push_to_main_adding_a_nested_npm_package_alerts(forged: Forged) -> None:
    head = forged.commit("npm", **{"web/package-lock.json": WEB_LOCK % EVENT_STREAM})
    forged.push("main")
    assert forged.github("push", github_push("refs/heads/main", head)).status_code == 202
    [details] = _recorded(forged)[2:]
    assert details["lockfile"] == "web/package-lock.json"
    assert details["added"] == [{"ecosystem": "npm", "name": "event-stream", "version": "3.3.6"}]
    assert [a for a in _alerts(forged) if a[0] == "new-dependency"] == [
        ("new-dependency", "new dependency npm:event-stream@3.3.6")
    ]


def test_pushes_without_a_dependency_change_record_nothing(forged: Forged) -> None:
    head = forged.commit("docs", **{"README": "hi\n"})
    forged.push("main")
    assert forged.github("push", github_push("refs/heads/main", head)).status_code == 202
    head = forged.commit("feature", **{"src.py": "y = 2\n"})
    forged.push("HEAD:refs/heads/feature")
    assert forged.github("push", github_push("refs/heads/feature", head)).status_code == 202
    # The same delivery again: the default branch's tip is this commit now, nothing changed.
    assert forged.github("push", github_push("refs/heads/feature", head)).status_code == 202
    assert _recorded(forged)[2:] == []
    assert [a for a in _alerts(forged) if a[0] == "new-dependency"] == []


def test_a_lock_file_the_parsers_refuse_alerts(forged: Forged) -> None:
    head = _pull_request(forged, 8, **{"web/package-lock.json": "{not json"})
    assert forged.github("pull_request", github_pull("opened", 8, head)).status_code == 202
    [details] = _recorded(forged)[2:]
    assert details["added"] == []
    assert "web/package-lock.json" in str(details["unreadable"])
    assert [a for a in _alerts(forged) if a[0] == "new-dependency"] == [
        ("new-dependency", "dependencies of web/package-lock.json in app unknown")
    ]


def test_a_base_lock_file_the_parsers_refuse_makes_every_package_new(forged: Forged) -> None:
    """Fail closed: what an unreadable base pinned is unknown, so nothing counts as known."""
    git(forged.work, "checkout", "-q", "-b", "broken")
    base = forged.commit("broken", **{"requirements.txt": "requests=\n"})
    head = forged.commit("fixed", **{"requirements.txt": LOCK})
    [change], initial = dependency_changes(forged.work, base, head)
    assert (change.lockfile, [i.name for i in change.added], initial) == (
        "requirements.txt",
        ["idna", "requests"],
        False,
    )


def test_a_package_added_through_an_include_in_another_folder_alerts(forged: Forged) -> None:
    """``requirements/app.txt`` includes ``../constraints/base.txt``: both are read from git,
    so the included file's new pin is seen (and the include is not taken as missing)."""
    files = {
        "requirements/app.txt": "-r ../shared/base.txt\nflask==3.0.0\n",
        "shared/base.txt": "idna==3.6\n",
    }
    forged.commit("split", **files)
    forged.push("main")
    head = git(forged.work, "rev-parse", "HEAD")
    assert forged.github("push", github_push("refs/heads/main", head)).status_code == 202
    more = {"shared/base.txt": "idna==3.6\nurllib4==0.1\n", "requirements/app.txt": files[
        "requirements/app.txt"].replace("flask", "# ok\nflask")}  # fmt: skip
    head = _pull_request(forged, 9, **more)
    assert forged.github("pull_request", github_pull("opened", 9, head)).status_code == 202
    [details] = _recorded(forged)[3:]
    assert (details["lockfile"], "unreadable" in details) == ("requirements/app.txt", False)
    assert details["added"] == [{"ecosystem": "PyPI", "name": "urllib4", "version": "0.1"}]
