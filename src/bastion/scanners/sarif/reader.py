"""SARIF 2.1.0 in: any SARIF-speaking scanner becomes a gate.

Tolerant of what real tools write: ``ruleId`` or ``rule.id`` or ``ruleIndex``; rules in the
driver or in extensions; severity from our own property, else the rule's GitHub
``security-severity`` score, else ``level`` (result, then rule default, then ``warning``);
messages by ``text`` or by ``id`` into the rule's ``messageStrings``; missing regions and
locations; absolute ``file://`` URIs (made relative to ``root`` when inside it).

Strict where silence would hurt: a document that is not a SARIF 2.1.0 log raises
:class:`~bastion.errors.GateError` naming the file, never an empty list that would pass.
Results of kind ``pass`` or ``notApplicable`` are not findings. Suppressions recorded by the
tool (``result.suppressions``) are *not* honoured: in Bastion a suppression needs an owner,
a reason and an expiry (``.bastion/suppressions.yml``); they are kept in
``properties["tool_suppressed"]`` for the reader.

Fingerprints: Bastion's own ``partialFingerprints["bastion/v1"]`` is taken as is (our SARIF
reads back identically). Otherwise the match key is, in order: the region's snippet, the
text of the flagged line read from ``root``, the tool's own stable fingerprint, and last the
message plus path (the only case a rename changes the identity).
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bastion.errors import GateError
from bastion.regular_file import Refusal, Refused, read_regular_file
from bastion.scanners.finding import Finding, Location, Severity
from bastion.scanners.sarif.levels import (
    FINGERPRINT_KEY,
    severity_from_level,
    severity_from_score,
)

__all__ = ["load_sarif", "sarif_to_findings"]

_NOT_FINDINGS = {"pass", "notApplicable"}
_CWE_TAG = re.compile(r"(?i)(?:external/cwe/)?cwe[-_/](\d+)")
_VULN_ID = re.compile(r"^(?:CVE-\d{4}-\d+|GHSA(?:-[0-9a-z]{4}){3}|PYSEC-\d{4}-\d+)$", re.I)
_MESSAGE_ARG = re.compile(r"\{(\d+)\}")
_MAX_LINE_FILE_BYTES = 8 * 1024 * 1024
_MAX_SARIF_BYTES = 256 * 1024 * 1024


def load_sarif(path: Path, *, gate: str, root: Path | None = None) -> list[Finding]:
    """Read the SARIF file at ``path`` into findings of ``gate``.

    The scanned tree's command wrote it: only a regular file is read (a FIFO there would
    block this gate until its time limit), never through a link, at most 256 MiB.
    """
    data = read_regular_file(path.parent, path.name, limit=_MAX_SARIF_BYTES)
    if isinstance(data, Refused):
        if data.refusal is Refusal.MISSING:
            raise GateError(f"{path}: SARIF file was not written", hint="check the command")
        raise GateError(f"cannot read SARIF: {path.parent}/{data.text()}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GateError(f"{path}: cannot read SARIF: {exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GateError(
            f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
            hint="the scanner must write a SARIF 2.1.0 JSON document",
        ) from exc
    return sarif_to_findings(doc, gate=gate, source=str(path), root=root)


def sarif_to_findings(
    doc: Any, *, gate: str, source: str = "<sarif>", root: Path | None = None
) -> list[Finding]:
    """Findings of every result in ``doc``; GateError naming ``source`` when malformed."""
    if not isinstance(doc, Mapping):
        raise GateError(f"{source}: not a SARIF log (expected a JSON object)")
    version = doc.get("version")
    if version != "2.1.0":
        raise GateError(
            f"{source}: unsupported SARIF version {version!r}",
            hint="write SARIF 2.1.0 (most scanners: --format sarif)",
        )
    runs = doc.get("runs")
    if not isinstance(runs, list):
        raise GateError(f"{source}: SARIF log has no 'runs' list")
    findings: list[Finding] = []
    for run_no, run in enumerate(runs):
        where = f"{source}: runs[{run_no}]"
        try:
            findings.extend(_run_findings(_obj(run, where), gate, root))
        except (TypeError, ValueError, KeyError) as exc:
            raise GateError(f"{where}: malformed SARIF: {exc}") from exc
    return findings


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} is not an object")
    return value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _run_findings(run: Mapping[str, Any], gate: str, root: Path | None) -> list[Finding]:
    tool = _obj(run.get("tool"), "tool")
    driver = _obj(tool.get("driver"), "tool.driver")
    rules = [r for r in _list(driver.get("rules")) if isinstance(r, Mapping)]
    for extension in _list(tool.get("extensions")):
        if isinstance(extension, Mapping):
            rules.extend(r for r in _list(extension.get("rules")) if isinstance(r, Mapping))
    by_id = {str(r["id"]): r for r in rules if "id" in r}
    scope = _RunScope(gate, _list(run.get("artifacts")), root, str(driver.get("name", "")))
    out: list[Finding] = []
    for index, result in enumerate(_list(run.get("results"))):
        res = _obj(result, f"results[{index}]")
        if res.get("kind", "fail") in _NOT_FINDINGS:
            continue
        rule = _rule_for(res, rules, by_id)
        out.append(_finding(res, rule, scope))
    return out


def _rule_for(
    res: Mapping[str, Any], rules: Sequence[Mapping[str, Any]], by_id: Mapping[str, Any]
) -> Mapping[str, Any]:
    rule_id = res.get("ruleId")
    ref_value = res.get("rule")
    ref: Mapping[str, Any] = ref_value if isinstance(ref_value, Mapping) else {}
    if rule_id is None:
        rule_id = ref.get("id")
    if isinstance(rule_id, str) and rule_id in by_id:
        found: Mapping[str, Any] = by_id[rule_id]
        return found
    index = res.get("ruleIndex", ref.get("index"))
    if isinstance(index, int) and 0 <= index < len(rules):
        return rules[index]
    return {"id": rule_id} if isinstance(rule_id, str) else {}


@dataclass(frozen=True, slots=True)
class _RunScope:
    gate: str
    artifacts: list[Any]
    root: Path | None
    tool_name: str


def _finding(res: Mapping[str, Any], rule: Mapping[str, Any], scope: _RunScope) -> Finding:
    rule_id = str(res.get("ruleId") or rule.get("id") or "sarif-result")
    ours = _ours(res)
    location, snippet = _location(res, scope.artifacts, scope.root, ours.get("commit"))
    severity = _severity(res, rule, ours)
    message = _message(res, rule) or rule_id
    if ours:
        # Our own SARIF: the extras are exact, take them as written.
        described = _Described(
            title=str(ours.get("title") or ""),
            cwe=tuple(str(c) for c in _list(ours.get("cwe"))),
            ids=tuple(str(i) for i in _list(ours.get("ids"))),
            fix=ours["fix"] if isinstance(ours.get("fix"), str) else None,
            properties=dict(ours.get("properties") or {}),
        )
    else:
        described = _describe_foreign(res, rule, rule_id, scope.tool_name)
    fingerprint = _partial(res).get(FINGERPRINT_KEY)
    if isinstance(fingerprint, str) and fingerprint:
        return Finding(
            rule_id=rule_id,
            gate=scope.gate,
            severity=severity,
            message=message,
            location=location,
            fingerprint=fingerprint,
            title=described.title,
            cwe=described.cwe,
            ids=described.ids,
            fix=described.fix,
            properties=described.properties,
        )
    return Finding.create(
        gate=scope.gate,
        rule_id=rule_id,
        severity=severity,
        message=message,
        location=location,
        match_key=_match_key(res, location, snippet, scope.root, message),
        title=described.title,
        cwe=described.cwe,
        ids=described.ids,
        fix=described.fix,
        properties=described.properties,
    )


@dataclass(frozen=True, slots=True)
class _Described:
    title: str
    cwe: tuple[str, ...]
    ids: tuple[str, ...]
    fix: str | None
    properties: dict[str, Any]


def _describe_foreign(
    res: Mapping[str, Any], rule: Mapping[str, Any], rule_id: str, tool_name: str
) -> _Described:
    rule_props = rule.get("properties")
    props: dict[str, Any] = {}
    if tool_name:
        props["tool"] = tool_name
    if isinstance(rule.get("helpUri"), str):
        props["help_uri"] = rule["helpUri"]
    if _list(res.get("suppressions")):
        props["tool_suppressed"] = True
    return _Described(
        title=_text(rule.get("shortDescription")) or str(rule.get("name") or ""),
        cwe=tuple(_cwes(rule_props if isinstance(rule_props, Mapping) else {})),
        ids=(rule_id,) if _VULN_ID.match(rule_id) else (),
        fix=_fix(res, rule),
        properties=props,
    )


def _ours(res: Mapping[str, Any]) -> Mapping[str, Any]:
    props = res.get("properties")
    if isinstance(props, Mapping) and isinstance(props.get("bastion"), Mapping):
        ours: Mapping[str, Any] = props["bastion"]
        return ours
    return {}


def _partial(res: Mapping[str, Any]) -> Mapping[str, Any]:
    value = res.get("partialFingerprints")
    return value if isinstance(value, Mapping) else {}


def _severity(res: Mapping[str, Any], rule: Mapping[str, Any], ours: Mapping[str, Any]) -> Severity:
    if isinstance(ours.get("severity"), str):
        return Severity.parse(ours["severity"])
    for props in (res.get("properties"), rule.get("properties")):
        if isinstance(props, Mapping) and "security-severity" in props:
            try:
                return severity_from_score(float(props["security-severity"]))
            except (TypeError, ValueError):
                pass  # a tool wrote a non-number: fall through to the level
    level = res.get("level")
    if not isinstance(level, str):
        config = rule.get("defaultConfiguration")
        level = config.get("level") if isinstance(config, Mapping) else None
    return severity_from_level(level if isinstance(level, str) else "warning")


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        text = value.get("text") or value.get("markdown")
        return str(text) if text else ""
    return ""


def _message(res: Mapping[str, Any], rule: Mapping[str, Any]) -> str:
    message = res.get("message")
    if not isinstance(message, Mapping):
        return ""
    text = _text(message)
    if not text and isinstance(message.get("id"), str):
        strings = rule.get("messageStrings")
        if isinstance(strings, Mapping):
            text = _text(strings.get(message["id"]))
    args = [str(a) for a in _list(message.get("arguments"))]

    def arg(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return args[number] if number < len(args) else match.group(0)

    return _MESSAGE_ARG.sub(arg, text)


def _fix(res: Mapping[str, Any], rule: Mapping[str, Any]) -> str | None:
    for fix in _list(res.get("fixes")):
        text = _text(fix.get("description")) if isinstance(fix, Mapping) else ""
        if text:
            return text
    text = _text(rule.get("help"))
    return text or None


def _cwes(props: Mapping[str, Any]) -> list[str]:
    found: dict[str, None] = {}
    for tag in _list(props.get("tags")) + _list(props.get("cwe")):
        match = _CWE_TAG.search(str(tag))
        if match:
            found.setdefault(f"CWE-{int(match.group(1))}", None)
    return list(found)


def _location(
    res: Mapping[str, Any], artifacts: list[Any], root: Path | None, commit: Any
) -> tuple[Location, str]:
    locations = _list(res.get("locations"))
    first = locations[0] if locations and isinstance(locations[0], Mapping) else {}
    physical = first.get("physicalLocation")
    if not isinstance(physical, Mapping):
        return Location(path="", commit=_str_or_none(commit)), ""
    artifact = physical.get("artifactLocation")
    artifact = artifact if isinstance(artifact, Mapping) else {}
    uri = artifact.get("uri")
    index = artifact.get("index")
    if uri is None and isinstance(index, int) and 0 <= index < len(artifacts):
        listed = (
            artifacts[index].get("location", {}) if isinstance(artifacts[index], Mapping) else {}
        )
        uri = listed.get("uri") if isinstance(listed, Mapping) else None
    path = _relative_path(str(uri), root) if isinstance(uri, str) else ""
    region = physical.get("region")
    region = region if isinstance(region, Mapping) else {}
    line = _positive(region.get("startLine"))
    end_line = _positive(region.get("endLine"))
    location = Location(
        path=path,
        line=line,
        column=_positive(region.get("startColumn")) if line else None,
        end_line=end_line if line and end_line and end_line >= line else None,
        commit=_str_or_none(commit),
    )
    return location, _text(region.get("snippet"))


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _relative_path(uri: str, root: Path | None) -> str:
    parsed = urllib.parse.urlsplit(uri)
    raw = urllib.parse.unquote(parsed.path) if parsed.scheme in ("", "file") else uri
    raw = raw.replace("\\", "/")
    if raw.startswith("/") and root is not None:
        try:
            return PurePosixPath(raw).relative_to(root.resolve().as_posix()).as_posix()
        except ValueError:
            pass  # outside the scanned tree: keep the path, made relative, below
    parts = [p for p in PurePosixPath(raw).parts if p not in ("/", ".")]
    return "/".join(parts)


def _match_key(
    res: Mapping[str, Any], location: Location, snippet: str, root: Path | None, message: str
) -> str:
    if snippet.strip():
        return snippet
    line_text = _line_text(root, location)
    if line_text:
        return line_text
    for container in (res.get("partialFingerprints"), res.get("fingerprints")):
        if isinstance(container, Mapping) and container:
            key = sorted(container)[0]
            return f"{key}={container[key]}"
    return f"{message}\x1f{location.path}"


def _line_text(root: Path | None, location: Location) -> str:
    if root is None or not location.path or location.line is None:
        return ""
    # The tree is the scanned one: the line is read like any file a job wrote.
    data = read_regular_file(root, location.path, limit=_MAX_LINE_FILE_BYTES)
    if isinstance(data, Refused):
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    if location.line > len(lines):
        return ""
    return lines[location.line - 1].strip()
