"""Bastion's own pipeline file (``.bastion/pipeline.yml``), read as YAML, not run.

    >>> from bastion.scanners.ciconfig.yamlsrc import load_document
    >>> doc = load_document("jobs:\\n  b: {network: host, steps: [{run: make}]}\\n", "p.yml")
    >>> [h.rule for h in check_bastion(doc)]
    ['bastion-egress-any']

The pipeline package validates the schema when a run starts; this reads the same file for
what is valid but unsafe: unlimited egress, secrets next to pull request code, images and
tools that change under the same file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bastion.scanners.ciconfig.rules import Hit
from bastion.scanners.ciconfig.shell import adhoc_installs, pipe_to_shell
from bastion.scanners.ciconfig.yamlsrc import YamlDocument, YMap, YNode, YScalar, YSeq

__all__ = ["check_bastion"]

_CONTAINER = re.compile(r"\b(?:docker|podman|nerdctl)\s+(?:run|pull|create)\b([^;&|\n]*)")
_VALUE_FLAGS = frozenset(
    {
        "-v",
        "--volume",
        "-e",
        "--env",
        "--name",
        "-p",
        "--publish",
        "-w",
        "--workdir",
        "-u",
        "--user",
        "--entrypoint",
        "--network",
        "--mount",
        "--platform",
        "-l",
        "--label",
    }
)


def _image_argument(arguments: str) -> str | None:
    """The first word after the options of ``docker run|pull|create``: the image."""
    words = iter(arguments.split())
    for word in words:
        if word in _VALUE_FLAGS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


_LATEST = re.compile(r"\b(?:go\s+install|npx|pipx\s+run|uvx)\s+(\S+@latest|\S+)")


def _pull_request(doc: YamlDocument) -> YNode | None:
    on = doc.root.get("on")
    if isinstance(on, YScalar) and on.text == "pull_request":
        return on
    if isinstance(on, YSeq):
        return next(
            (i for i in on.items if isinstance(i, YScalar) and i.text == "pull_request"), None
        )
    if isinstance(on, YMap) and "pull_request" in on.entries:
        return on.keys["pull_request"]
    return None


def _egress(job: YMap, name: str) -> Iterator[Hit]:
    network = job.get("network")
    hosts = network.items if isinstance(network, YSeq) else [network] if network else []
    for host in hosts:
        if isinstance(host, YScalar) and host.text.strip() in {"host", "*", "*.*", "0.0.0.0/0"}:
            yield Hit(
                "bastion-egress-any",
                host.line,
                host.column,
                f"job '{name}' may connect anywhere ({host.text}); a compromised "
                "dependency can send your code and secrets out",
                f"{name}:egress",
            )


def _secrets(job: YMap, name: str, pull_request: YNode | None) -> Iterator[Hit]:
    secrets = job.get("secrets")
    given = secrets.items if isinstance(secrets, YSeq) else [secrets] if secrets else []
    if pull_request is None or not given or job.get("steps") is None:
        return
    where = job.keys["secrets"]
    yield Hit(
        "bastion-secrets-untrusted",
        where.line,
        where.column,
        f"job '{name}' asks for secrets and runs steps on pull requests (line "
        f"{pull_request.line}); keep it to pushes or split the job",
        f"{name}:secrets",
    )


def _steps(doc: YamlDocument, job: YMap, name: str) -> Iterator[Hit]:
    steps = job.get("steps")
    for step in steps.items if isinstance(steps, YSeq) else ():
        run = step.scalar("run") if isinstance(step, YMap) else None
        if run is None:
            continue
        for match in _CONTAINER.finditer(run.text):
            image = _image_argument(match.group(1))
            if image is not None and "@sha256:" not in image and "$" not in image:
                line, col = doc.position(run, image)
                yield Hit(
                    "bastion-unpinned",
                    line,
                    col,
                    f"job '{name}' runs image {image} by tag, not digest",
                    f"{name}:{image}",
                )
        for match in _LATEST.finditer(run.text):
            tool = match.group(1)
            if tool.endswith("@latest") or "@" not in tool.lstrip("@"):
                line, col = doc.position(run, match.group(0))
                yield Hit(
                    "bastion-unpinned",
                    line,
                    col,
                    f"job '{name}' runs {tool} at whatever version is newest",
                    f"{name}:{tool}",
                )
        for rule, finder in (
            ("curl-pipe-shell", pipe_to_shell),
            ("bastion-unpinned", adhoc_installs),
        ):
            for shell_match in finder(run.text):
                line, col = doc.position(run, shell_match.snippet, shell_match.nth)
                yield Hit(
                    rule,
                    line,
                    col,
                    f"job '{name}': `{shell_match.snippet}`",
                    f"{name}:{shell_match.snippet}",
                )


def check_bastion(doc: YamlDocument) -> list[Hit]:
    """Every rule over one Bastion pipeline file."""
    jobs = doc.root.map("jobs")
    pull_request = _pull_request(doc)
    hits: list[Hit] = []
    for name, job in jobs.items() if jobs else ():
        if not isinstance(job, YMap):
            continue
        hits += _egress(job, name)
        hits += _secrets(job, name, pull_request)
        hits += _steps(doc, job, name)
        image = job.scalar("image")
        if image is not None and "@sha256:" not in image.text:
            hits.append(
                Hit(
                    "bastion-unpinned",
                    image.line,
                    image.column,
                    f"job '{name}' image {image.text} is not pinned by digest",
                    f"{name}:{image.text}",
                )
            )
    return hits
