"""GitLab CI (``.gitlab-ci.yml`` and its local ``include:`` files).

    >>> from bastion.scanners.ciconfig.yamlsrc import load_document
    >>> doc = load_document('t:\\n  script: [eval "echo $CI_COMMIT_MESSAGE"]\\n', "g.yml")
    >>> [h.rule for h in check_gitlab(doc)]
    ['gitlab-injection']

GitLab passes its predefined variables to the job's shell as environment variables, so a
merge request title is data while it stays a double-quoted argument, and code as soon as
the shell reads it again (``eval``, ``sh -c``) or splits it unquoted into words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.scanners.ciconfig.rules import Confidence, Hit
from bastion.scanners.ciconfig.shell import insecure_urls, pipe_to_shell
from bastion.scanners.ciconfig.yamlsrc import YamlDocument, YMap, YNode, YScalar, YSeq

__all__ = ["ATTACKER_VARIABLES", "check_gitlab", "local_includes"]

ATTACKER_VARIABLES = frozenset(
    {
        "CI_MERGE_REQUEST_TITLE",
        "CI_MERGE_REQUEST_DESCRIPTION",
        "CI_COMMIT_MESSAGE",
        "CI_COMMIT_TITLE",
        "CI_COMMIT_DESCRIPTION",
        "CI_COMMIT_TAG_MESSAGE",
        "CI_COMMIT_AUTHOR",
        "CI_COMMIT_REF_NAME",
        "CI_COMMIT_REF_SLUG",
        "CI_COMMIT_BRANCH",
        "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
        "CI_EXTERNAL_PULL_REQUEST_SOURCE_BRANCH_NAME",
        "CI_MERGE_REQUEST_SOURCE_PROJECT_PATH",
    }
)
_RESERVED = frozenset(
    {
        "stages",
        "variables",
        "include",
        "workflow",
        "spec",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
        "default",
    }
)
_SCRIPTS = ("before_script", "script", "after_script")
_VAR = re.compile(
    r"\$\{?(" + "|".join(sorted(ATTACKER_VARIABLES, key=len, reverse=True)) + r")\b\}?"
)
_REEVAL = re.compile(r"\beval\b|\b(?:ba|z|da)?sh\s+-c\b|\bpython3?\s+-c\b|\bsource\b|`")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _script_lines(node: YNode | None) -> Iterator[YScalar]:
    if isinstance(node, YScalar):
        yield node
    elif isinstance(node, YSeq):  # GitLab flattens nested lists (from !reference and anchors)
        for item in node.items:
            yield from _script_lines(item)


def _quoted(line: str, index: int) -> bool:
    """True when ``index`` sits inside single or double quotes on ``line``."""
    single = double = False
    for char in line[:index]:
        if char == "'" and not double:
            single = not single
        elif char == '"' and not single:
            double = not double
    return single or double


def _injections(doc: YamlDocument, node: YScalar, job: str) -> Iterator[Hit]:
    for raw_line in node.text.splitlines():
        for match in _VAR.finditer(raw_line):
            reeval = bool(_REEVAL.search(raw_line))
            if not reeval and _quoted(raw_line, match.start()):
                continue
            line, col = doc.position(node, match.group(0))
            how = "is read again by the shell" if reeval else "is expanded unquoted"
            yield Hit(
                "gitlab-injection",
                line,
                col,
                f"job '{job}': ${match.group(1)} (set by whoever opens the merge request "
                f"or pushes the branch) {how}",
                f"{job}:{raw_line.strip()}",
                confidence=Confidence.HIGH if reeval else None,
            )


def _scripts(doc: YamlDocument, job: YMap, name: str) -> Iterator[Hit]:
    for key in _SCRIPTS:
        for node in _script_lines(job.get(key)):
            yield from _injections(doc, node, name)
            for rule, finder in (
                ("curl-pipe-shell", pipe_to_shell),
                ("insecure-url-scheme", insecure_urls),
            ):
                for match in finder(node.text):
                    line, col = doc.position(node, match.snippet, match.nth)
                    yield Hit(rule, line, col, f"job '{name}': `{match.snippet}`", match.snippet)


def _image_nodes(job: YMap) -> Iterator[YScalar]:
    image = job.get("image")
    if isinstance(image, YMap):
        image = image.get("name")
    if isinstance(image, YScalar):
        yield image
    services = job.get("services")
    for service in services.items if isinstance(services, YSeq) else ():
        node = service.get("name") if isinstance(service, YMap) else service
        if isinstance(node, YScalar):
            yield node


def _images(job: YMap, name: str) -> Iterator[Hit]:
    for node in _image_nodes(job):
        text = node.text.strip()
        if "$" in text or _DIGEST.search(text):
            continue  # a variable is resolved at run time; judged where it is defined
        yield Hit(
            "unpinned-images",
            node.line,
            node.column,
            f"'{name}' image {text} is not pinned by digest",
            f"{name}:{text}",
        )


def _include_entries(doc: YamlDocument) -> Iterator[YNode]:
    include = doc.root.get("include")
    yield from include.items if isinstance(include, YSeq) else [include] if include else []


def _includes(doc: YamlDocument) -> Iterator[Hit]:
    for entry in _include_entries(doc):
        if not isinstance(entry, YMap):
            text = entry.text if isinstance(entry, YScalar) else ""
            if text.startswith(("http://", "https://")):
                yield Hit(
                    "gitlab-unpinned-include",
                    entry.line,
                    entry.column,
                    f"remote include {text} can change under you",
                    text,
                )
            continue
        remote, project, component = (
            entry.scalar("remote"),
            entry.scalar("project"),
            entry.scalar("component"),
        )
        ref = entry.scalar("ref")
        if remote is not None:
            yield Hit(
                "gitlab-unpinned-include",
                remote.line,
                remote.column,
                f"remote include {remote.text} can change under you",
                remote.text,
            )
        if project is not None and (ref is None or not _FULL_SHA.match(ref.text.strip())):
            where = ref or project
            yield Hit(
                "gitlab-unpinned-include",
                where.line,
                where.column,
                f"include of {project.text} follows "
                f"{'its default branch' if ref is None else repr(ref.text)}",
                project.text,
            )
        if component is not None and not _FULL_SHA.match(component.text.rpartition("@")[2]):
            yield Hit(
                "gitlab-unpinned-include",
                component.line,
                component.column,
                f"component {component.text} is not pinned to a commit SHA",
                component.text,
            )


def local_includes(doc: YamlDocument) -> list[YScalar]:
    """The ``include: local`` (and bare relative) paths, as written, for the gate to follow."""
    found = []
    for entry in _include_entries(doc):
        node = entry.scalar("local") if isinstance(entry, YMap) else entry
        if isinstance(node, YScalar) and not node.text.startswith(("http://", "https://")):
            found.append(node)
    return found


def check_gitlab(doc: YamlDocument) -> list[Hit]:
    """Every rule over one GitLab CI file."""
    hits = list(_includes(doc))
    default = doc.root.map("default") or doc.root
    hits += _images(default, "default")
    hits += _scripts(doc, doc.root, "(global)")
    for name, job in doc.root.items():
        if name in _RESERVED or not isinstance(job, YMap):
            continue
        hits += _scripts(doc, job, name)
        hits += _images(job, name)
    if default is not doc.root:
        hits += _scripts(doc, default, "default")
    return hits
