"""GitHub Actions workflows (``.github/workflows/*.yml``) and composite actions (``action.yml``).

>>> from bastion.scanners.ciconfig.advisories import ActionAdvisories
>>> from bastion.scanners.ciconfig.yamlsrc import load_document
>>> doc = load_document("on: push\\npermissions: {}\\njobs: {}\\n", "w.yml")
>>> check_workflow(doc, ActionAdvisories.bundled(), "w.yml")
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from bastion.scanners.ciconfig.advisories import ActionAdvisories
from bastion.scanners.ciconfig.conditions import check_expressions
from bastion.scanners.ciconfig.expressions import attacker_contexts
from bastion.scanners.ciconfig.expressions import expressions as find_expressions
from bastion.scanners.ciconfig.rules import Hit
from bastion.scanners.ciconfig.steps import StepScope, check_step
from bastion.scanners.ciconfig.uses import check_uses, parse_uses
from bastion.scanners.ciconfig.yamlsrc import YamlDocument, YMap, YNode, YScalar, YSeq
from bastion.scanners.finding import Severity

__all__ = ["check_action", "check_workflow", "triggers"]

_PRIVILEGED = frozenset({"pull_request_target", "workflow_run"})
_FROM_PRS = frozenset(
    {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
        "issue_comment",
        "issues",
        "discussion",
        "discussion_comment",
    }
    | _PRIVILEGED
)
_RELEASE_NAME = re.compile(r"release|publish|deploy", re.IGNORECASE)
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
_RUN_PR_CODE = re.compile(
    r"gh\s+pr\s+checkout|git\s+(fetch|checkout)\b.*(\$\{\{[^}]*(head\.(sha|ref)|"
    r"head_ref|head_sha|head_branch)|refs/pull/)"
)


def triggers(doc: YamlDocument) -> dict[str, YNode]:
    """Event name to its node (the node of the name itself for list and scalar forms)."""
    on = doc.root.get("on")
    if isinstance(on, YScalar):
        return {on.text: on}
    if isinstance(on, YSeq):
        return {item.text: item for item in on.items if isinstance(item, YScalar)}
    if isinstance(on, YMap):
        return {key: on.keys[key] for key, _ in on.items()}
    return {}


def _tainted_env(*maps: YMap | None) -> frozenset[str]:
    names = set()
    for mapping in maps:
        env = mapping.map("env") if mapping is not None else None
        for name, value in env.items() if env else ():
            if isinstance(value, YScalar) and any(
                attacker_contexts(e.text) for e in find_expressions(value.text)
            ):
                names.add(name)
    return frozenset(names)


def _steps(job: YMap) -> list[YMap]:
    steps = job.get("steps")
    return [s for s in steps.items if isinstance(s, YMap)] if isinstance(steps, YSeq) else []


def _uploads(job: YMap) -> bool:
    return any(
        parse_uses(s.text("uses") or "").action == "actions/upload-artifact" for s in _steps(job)
    )


def _permissions(node: YNode | None, where: str, jobs: int) -> Iterator[Hit]:
    if isinstance(node, YScalar):
        text = node.text.strip()
        if text == "write-all":
            yield Hit(
                "excessive-permissions",
                node.line,
                node.column,
                f"{where}: write-all gives the token every write scope",
                f"{where}:write-all",
                severity=Severity.HIGH,
            )
        elif text == "read-all":
            yield Hit(
                "excessive-permissions",
                node.line,
                node.column,
                f"{where}: read-all reads every scope, private ones too",
                f"{where}:read-all",
            )
    elif isinstance(node, YMap) and where == "workflow" and jobs > 1:
        for scope, value in node.items():
            if isinstance(value, YScalar) and value.text.strip() == "write":
                yield Hit(
                    "excessive-permissions",
                    value.line,
                    value.column,
                    f"workflow-wide '{scope}: write' reaches every job; grant it to the "
                    "job that needs it",
                    f"workflow:{scope}:write",
                )


def _runner_labels(runs_on: YNode | None) -> list[YScalar]:
    if isinstance(runs_on, YScalar):
        return [runs_on]
    if isinstance(runs_on, YSeq):
        return [i for i in runs_on.items if isinstance(i, YScalar)]
    if isinstance(runs_on, YMap):
        group, inner = runs_on.scalar("group"), runs_on.get("labels")
        labels = [group] if group else []  # a runner group holds self-hosted runners
        return labels + _runner_labels(inner)
    return []


def _runner(job: YMap, name: str) -> Iterator[Hit]:
    runs_on = job.get("runs-on")
    for label in _runner_labels(runs_on):
        if label.text.strip() == "self-hosted" or isinstance(runs_on, YMap):
            yield Hit(
                "self-hosted-runner",
                label.line,
                label.column,
                f"job '{name}' runs on a self-hosted runner that pull requests can "
                "reach; their code may persist on it",
                f"{name}:self-hosted",
            )
            return


def _image_of(node: YNode | None) -> YScalar | None:
    if isinstance(node, YScalar):
        return node
    return node.scalar("image") if isinstance(node, YMap) else None


def _images(job: YMap, name: str) -> Iterator[Hit]:
    candidates: list[tuple[str, YNode | None]] = [("container", job.get("container"))]
    services = job.map("services")
    candidates += [(f"service {k}", v) for k, v in services.items()] if services else []
    for what, node in candidates:
        image = _image_of(node)
        if image is not None and "${{" not in image.text and not _DIGEST.search(image.text):
            yield Hit(
                "unpinned-images",
                image.line,
                image.column,
                f"job '{name}' {what} image {image.text} is not pinned by digest",
                f"{name}:{what}:{image.text}",
            )
        creds = node.map("credentials") if isinstance(node, YMap) else None
        password = creds.scalar("password") if creds else None
        if password is not None and "${{" not in password.text:
            yield Hit(
                "hardcoded-container-credentials",
                password.line,
                password.column,
                f"job '{name}' {what}: registry password written in the file",
                f"{name}:{what}:password",
            )


def _job_secrets(job: YMap, name: str, doc: YamlDocument) -> Iterator[Hit]:
    inherit = job.scalar("secrets")
    if inherit is not None and inherit.text.strip() == "inherit":
        yield Hit(
            "secrets-inherit",
            inherit.line,
            inherit.column,
            f"job '{name}' passes every secret to {job.text('uses') or 'the workflow'}",
            f"{name}:inherit",
        )
    if job.get("environment") is not None or job.get("uses") is not None:
        return  # a reusable workflow call cannot name an environment; its callee does
    for match in re.finditer(
        r"secrets\.(?!GITHUB_TOKEN\b)([A-Za-z_][\w-]*)", doc.source[job.start : job.end]
    ):
        index = job.start + match.start()
        line = doc.source.count("\n", 0, index) + 1
        column = index - doc.source.rfind("\n", 0, index)
        yield Hit(
            "secrets-outside-env",
            line,
            column,
            f"job '{name}' reads secret {match.group(1)} without a deployment "
            "environment to gate it",
            f"{name}:{match.group(1)}",
        )


def _run_pr_code(job: YMap, scope: StepScope) -> Iterator[Hit]:
    if not scope.privileged_trigger:
        return
    for step in _steps(job):
        run = step.scalar("run")
        match = _RUN_PR_CODE.search(run.text) if run else None
        if run is not None and match:
            line, col = scope.doc.position(run, match.group(0))
            yield Hit(
                "unsafe-checkout",
                line,
                col,
                "fetches the pull request's code under a privileged trigger",
                f"run:{match.group(0)}",
            )


def _job(job: YMap, name: str, base: StepScope, workflow: YamlDocument) -> list[Hit]:
    hits: list[Hit] = []
    scope = StepScope(
        doc=base.doc,
        advisories=base.advisories,
        privileged_trigger=base.privileged_trigger,
        release=base.release or bool(_RELEASE_NAME.search(name)),
        uploads_artifacts=_uploads(job),
        tainted_env=base.tainted_env | _tainted_env(job),
    )
    for step in _steps(job):
        tainted = scope.tainted_env | _tainted_env(step)
        hits += check_step(step, replace(scope, tainted_env=tainted))
    uses = job.scalar("uses")
    if uses is not None:
        hits += check_uses(uses, base.advisories)
    hits += _permissions(job.get("permissions"), f"job '{name}'", 1)
    hits += _images(job, name)
    hits += _job_secrets(job, name, workflow)
    hits += _run_pr_code(job, scope)
    return hits


def check_workflow(doc: YamlDocument, advisories: ActionAdvisories, path: str) -> list[Hit]:
    """Every rule over one workflow file."""
    events = triggers(doc)
    jobs = doc.root.map("jobs")
    job_items = [(n, j) for n, j in jobs.items() if isinstance(j, YMap)] if jobs else []
    hits = check_expressions(doc)
    for event in sorted(_PRIVILEGED & set(events)):
        node = events[event]
        hits.append(
            Hit(
                "dangerous-triggers",
                node.line,
                node.column,
                f"'{event}' runs with the base repository's secrets and a write token "
                "on events outsiders can cause",
                f"trigger:{event}",
            )
        )
    name = doc.root.text("name") or ""
    base = StepScope(
        doc=doc,
        advisories=advisories,
        privileged_trigger=bool(_PRIVILEGED & set(events)),
        release="release" in events or _tag_push(doc) or bool(_RELEASE_NAME.search(name + path)),
        tainted_env=_tainted_env(doc.root),
    )
    top = doc.root.get("permissions")
    hits += _permissions(top, "workflow", len(job_items))
    for job_name, job in job_items:
        if top is None and job.get("permissions") is None:
            key = jobs.keys[job_name] if jobs else job
            hits.append(
                Hit(
                    "excessive-permissions",
                    key.line,
                    key.column,
                    f"job '{job_name}' runs with the default token permissions (often "
                    "write to everything); no `permissions:` sets them",
                    f"{job_name}:default-permissions",
                )
            )
        if _FROM_PRS & set(events):
            hits += _runner(job, job_name)
        hits += _job(job, job_name, base, doc)
    return hits


def _tag_push(doc: YamlDocument) -> bool:
    on = doc.root.map("on")
    push = on.map("push") if on else None
    return push is not None and push.get("tags") is not None


def check_action(doc: YamlDocument, advisories: ActionAdvisories) -> list[Hit]:
    """Every rule over a composite or Docker action definition (``action.yml``)."""
    hits = check_expressions(doc)
    runs = doc.root.map("runs")
    if runs is None:
        return hits
    image = runs.scalar("image")
    if image is not None and image.text.startswith("docker://") and not _DIGEST.search(image.text):
        hits.append(
            Hit(
                "unpinned-images",
                image.line,
                image.column,
                f"action image {image.text} is not pinned by digest",
                image.text,
            )
        )
    scope = StepScope(doc=doc, advisories=advisories)
    for step in _steps(runs):
        hits += check_step(step, replace(scope, tainted_env=_tainted_env(step)))
    return hits
