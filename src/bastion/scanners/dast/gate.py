"""``uses: bastion/dast``: the built service, started in the gate's own sandbox and probed.

    >>> DastGate().option_keys >= {"command", "health"}
    True

The gate starts ``command`` as its child, inside the same sandbox, so the service and the
scanner share the sandbox's private loopback and nothing else is reachable either way. Once
``health`` answers 2xx, it crawls the site, runs the passive checks, the safe active probes
(with a canary listener on another loopback port for SSRF) and, given ``openapi``, fuzzes
the API's safe operations with schemathesis; then it stops the service.

Options (``with:``): ``command`` (shell command starting the service, in the workspace),
``health`` (an ``http://127.0.0.1:PORT/...`` URL), ``openapi`` (the document's path on the
service), ``paths`` (more pages to start crawling from), ``health_timeout`` (seconds,
default 30), ``max_requests`` (default 2000), ``fuzz_examples`` (per operation and mode,
default 20).
"""

from __future__ import annotations

import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bastion.errors import GateError, UsageError
from bastion.scanners.dast.active import active_probes
from bastion.scanners.dast.canary import Canary
from bastion.scanners.dast.client import HttpClient, Target
from bastion.scanners.dast.crawl import crawl
from bastion.scanners.dast.evidence import GATE_NAME
from bastion.scanners.dast.exposure import exposed_files
from bastion.scanners.dast.passive import passive_checks
from bastion.scanners.dast.service import running_service, wait_healthy
from bastion.scanners.finding import Finding
from bastion.scanners.interface import Gate, GateReport, ScanRequest

if TYPE_CHECKING:
    from bastion.scanners.dast.fuzz import Fuzzed

__all__ = ["DastGate", "DastOptions"]

FuzzApi = Callable[[HttpClient, str, int], "Fuzzed"]
# The libraries the fuzzer imports; their absence is a clear refusal, any other is a bug.
_FUZZ_LIBRARIES = frozenset({"schemathesis", "hypothesis"})


@dataclass(frozen=True, slots=True)
class DastOptions:
    """The gate's ``with:`` options, checked."""

    command: str
    health: str
    target: Target
    openapi: str | None = None
    paths: tuple[str, ...] = ()
    health_timeout: float = 30.0
    max_requests: int = 2000
    fuzz_examples: int = 20

    @classmethod
    def parse(cls, options: Mapping[str, Any]) -> DastOptions:
        """Options from ``with:``; UsageError naming the first bad one."""
        command, health = options.get("command"), options.get("health")
        if not isinstance(command, str) or not command.strip():
            raise _bad("command", "a shell command that starts the service, e.g. `python3 app.py`")
        if not isinstance(health, str):
            raise _bad("health", "an http://127.0.0.1:PORT/path URL the service answers 2xx on")
        try:
            target = Target.from_url(health)
        except ValueError as exc:
            raise _bad("health", str(exc)) from None
        openapi = options.get("openapi")
        if openapi is not None and (not isinstance(openapi, str) or not openapi.startswith("/")):
            raise _bad("openapi", "a path on the service, e.g. /openapi.json")
        paths = options.get("paths", [])
        if not isinstance(paths, list) or not all(
            isinstance(p, str) and p[:1] == "/" for p in paths
        ):
            raise _bad("paths", "a list of paths on the service, e.g. [/search]")
        return cls(
            command,
            health,
            target,
            openapi,
            tuple(paths),
            _number(options, "health_timeout", 30.0),
            int(_number(options, "max_requests", 2000)),
            int(_number(options, "fuzz_examples", 20)),
        )


def _bad(key: str, what: str) -> UsageError:
    return UsageError(f"bastion/dast: option `{key}` must be {what}")


def _number(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _bad(key, "a positive number")
    return float(value)


class DastGate(Gate):
    """Dynamic testing of the running service: passive checks, safe probes, API fuzzing."""

    name = GATE_NAME
    option_keys = frozenset(
        {"command", "health", "openapi", "paths", "health_timeout", "max_requests", "fuzz_examples"}
    )
    list_option_keys = frozenset({"paths"})

    def scan(self, request: ScanRequest) -> GateReport:
        """Start the service from ``request.root``, probe it, stop it."""
        self.check_options(request.options)
        options = DastOptions.parse(request.options)
        client = HttpClient(options.target, budget=options.max_requests)
        with running_service(options.command, request.root) as (process, log):
            wait_healthy(client, options.health, process, options.health_timeout, log)
            return _probe(client, options)


def _fuzzer() -> FuzzApi:
    """The OpenAPI fuzzer, imported only when asked for (schemathesis takes ~1 s to load).

    Without schemathesis the gate fails closed: an ``openapi`` option that cannot be honoured
    must never read as "the API was fuzzed and nothing was found"."""
    try:
        from bastion.scanners.dast.fuzz import fuzz_api
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.partition(".")[0] not in _FUZZ_LIBRARIES:
            raise
        raise GateError(
            f"bastion/dast: option `openapi` needs {exc.name}, which is not installed in "
            "Bastion's environment: reinstall Bastion with its dependencies "
            "(pip install --require-hashes -r requirements.lock), or drop `openapi` from "
            "the job's `with:` to run without API fuzzing"
        ) from exc
    return fuzz_api


def _probe(client: HttpClient, options: DastOptions) -> GateReport:
    """Every check against the healthy service, timed per phase."""
    timings: dict[str, float] = {}
    notes: list[str] = []
    started = time.monotonic()
    health_path = urllib.parse.urlsplit(options.health).path
    site = crawl(client, ["/", *options.paths, health_path])
    findings: list[Finding] = [*passive_checks(client, site), *exposed_files(client, site)]
    timings["passive"] = time.monotonic() - started
    with Canary() as canary:
        findings += active_probes(client, list(site.endpoints.values()), canary)
    timings["active"] = time.monotonic() - started - timings["passive"]
    if options.openapi:
        fuzzed = _fuzzer()(client, options.openapi, options.fuzz_examples)
        findings += fuzzed.findings.values()
        if fuzzed.skipped:
            skipped = ", ".join(fuzzed.skipped)
            notes.append(f"not fuzzed (unsafe methods may change data): {skipped}")
    timings["total"] = time.monotonic() - started
    per_class = Counter(str(f.properties["probe_class"]) for f in findings)
    facts = {
        "requests": client.total,
        "requests_by_kind": dict(client.sent),
        "findings_by_class": dict(per_class),
        "endpoints": sorted({e.path for e in site.endpoints.values()}),
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }
    return GateReport(gate=GATE_NAME, findings=tuple(findings), facts=facts, notes=tuple(notes))
