"""OpenAPI-driven fuzzing with schemathesis: server errors and answers outside the document.

Only the document's ``GET`` and ``HEAD`` operations are fuzzed (valid and invalid input):
the gate never sends a request that may change the service's data. Each operation gives at
most one finding per rule, with the request and the answer that showed it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.errors import LoaderError
from schemathesis.core.failures import Failure, FailureGroup, ServerError
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from bastion.errors import GateError
from bastion.scanners.dast.client import MAX_BODY_BYTES, Exchange, HttpClient
from bastion.scanners.dast.evidence import finding
from bastion.scanners.dast.rules import ProbeClass
from bastion.scanners.finding import Finding

__all__ = ["SAFE_METHODS", "Fuzzed", "fuzz_api"]

SAFE_METHODS = frozenset({"GET", "HEAD"})
_CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
_KIND = ProbeClass.API_FUZZ.value


@dataclass
class Fuzzed:
    """What fuzzing found, the operations it skipped (unsafe methods), and notes."""

    findings: dict[tuple[str, str], Finding] = field(default_factory=dict)
    operations: int = 0
    skipped: list[str] = field(default_factory=list)


def _exchange(case: Any, response: Any) -> Exchange:
    request = response.request
    sent = tuple((str(k), str(v)) for k, v in request.headers.items())
    got = tuple((str(k), str(v)) for k, v in _flat(response.headers))
    target = urllib.parse.urlsplit(str(request.url))
    path = target.path + (f"?{target.query}" if target.query else "")
    return Exchange(
        case.method.upper(),
        path,
        sent,
        int(response.status_code),
        got,
        bytes(response.content or b"")[:MAX_BODY_BYTES],
    )


def _flat(headers: Any) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, values in headers.items()
        for v in (values if isinstance(values, list) else [values])
    ]


def _record(out: Fuzzed, operation: Any, case: Any, response: Any, failures: list[Failure]) -> None:
    for failure in failures:
        rule = "api-server-error" if isinstance(failure, ServerError) else "api-schema-violation"
        key = (operation.label, rule)
        if key not in out.findings:
            text = f"{operation.label}: {failure.title}: {' '.join(failure.message.split())[:300]}"
            out.findings[key] = finding(
                rule, _exchange(case, response), text, operation.label, place=operation.path
            )


def _checker(client: HttpClient, operation: Any, out: Fuzzed) -> Callable[[Any], None]:
    """A fresh test function (hypothesis decorates each function once) for one operation."""

    def check(case: Any) -> None:
        if client.total >= client.budget:
            return
        client.sent[_KIND] += 1
        response = case.call(base_url=client.target.origin, timeout=client.timeout)
        try:
            case.validate_response(response, checks=_CHECKS)
        except FailureGroup as group:
            _record(out, operation, case, response, list(group.exceptions))
        except Failure as failure:
            _record(out, operation, case, response, [failure])

    return check


def _fuzz_one(client: HttpClient, operation: Any, examples: int, out: Fuzzed) -> None:
    """Valid, then invalid input for ``operation``; failures recorded, never raised."""
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        run: Callable[[], None] = given(case=operation.as_strategy(generation_mode=mode))(
            settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(_checker(client, operation, out))
        )
        try:
            run()
        except HypothesisException:
            continue  # e.g. no invalid input exists for an operation without parameters


def fuzz_api(client: HttpClient, document: str, examples: int) -> Fuzzed:
    """Fuzz every safe operation of the OpenAPI document at ``document`` (a path)."""
    out = Fuzzed()
    try:
        schema = schemathesis.openapi.from_url(client.target.origin + document)
    except LoaderError as exc:
        raise GateError(
            f"bastion/dast: cannot load the OpenAPI document {document}: {exc}"
        ) from exc
    client.sent[_KIND] += 1
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            out.skipped.append(f"(an operation the document describes wrongly: {result.err()})")
            continue
        operation = result.ok()
        if operation.method.upper() not in SAFE_METHODS:
            out.skipped.append(operation.label)
            continue
        out.operations += 1
        _fuzz_one(client, operation, examples, out)
    return out
