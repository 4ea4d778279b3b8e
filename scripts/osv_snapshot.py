#!/usr/bin/env python3
"""Regenerate the SCA gate's bundled OSV snapshot from folders of real advisory records.

    .venv/bin/python scripts/osv_snapshot.py            # the default sources below
    .venv/bin/python scripts/osv_snapshot.py --records npm=PATH --date npm=2024-01-31

Selection rule: for each ecosystem, every (not withdrawn) record of each package of a fixed
list of widely used packages, taken whole in list order while the total stays within the
cap (default 300). A package whose records would pass the cap is left out entirely and
named in ``contents.json``: half a package's records would make "no known vulnerabilities"
a lie about that package. The lists are chosen by hand (popular registries' well-known
packages, the examples' pins, Django for the issue 23 regression), not measured.

Writes into ``src/bastion/scanners/sca/snapshot`` (or ``--out``): ``<Ecosystem>.json`` (the
records, unchanged apart from YAML becoming JSON, with their date and source),
``contents.json`` (what each file holds, and every ecosystem Bastion parses that has no
bundled records) and ``LICENSE-OSV-SNAPSHOT.txt`` (sources and licences).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from bastion.scanners.sca.archive import open_records  # noqa: E402
from bastion.scanners.sca.bundled import CONTENTS, SNAPSHOT_FORMAT, missing_message  # noqa: E402
from bastion.scanners.sca.osv import check_record  # noqa: E402
from bastion.scanners.sca.parsers import PARSED_ECOSYSTEMS  # noqa: E402
from bastion.scanners.sca.versions import normalize_name  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "osv"
DEFAULT_CAP = 300
LICENCE_FILE = "LICENSE-OSV-SNAPSHOT.txt"


@dataclass(frozen=True)
class Source:
    """Where one ecosystem's records come from, under which licence, and which to take."""

    name: str
    url: str
    licence: str
    path: Path
    date: str | None  # None: the newest ``modified`` among the records taken
    packages: tuple[str, ...]
    # False: the folder holds hand-picked records, not the database's every record for these
    # packages; then only packages with records are named, and the snapshot says "partial".
    complete: bool = True


SOURCES: dict[str, Source] = {
    "PyPI": Source(
        "PyPA Advisory Database",
        "https://github.com/pypa/advisory-database",
        "CC-BY-4.0",
        SHARED / "pypa" / "vulns",
        "2024-10-10",
        (
            "django",
            "flask",
            "requests",
            "pyyaml",
            "jinja2",
            "pyjwt",
            "werkzeug",
            "urllib3",
            "certifi",
            "idna",
            "gunicorn",
            "setuptools",
            "pip",
            "cryptography",
            "numpy",
            "sqlalchemy",
            "aiohttp",
            "lxml",
            "paramiko",
            "tornado",
            "twisted",
            "pydantic",
            "fastapi",
            "starlette",
            "httpx",
            "protobuf",
            "psycopg2",
            "celery",
            "markdown",
            "bleach",
            "babel",
            "mako",
            "waitress",
            "uvicorn",
            "pillow",
        ),
    ),
    "Go": Source(
        "Go vulnerability database",
        "https://pkg.go.dev/vuln/",
        "CC-BY-4.0",
        SHARED / "go",
        "2026-08-21",
        (
            "stdlib",
            "golang.org/x/net",
            "golang.org/x/crypto",
            "golang.org/x/text",
            "golang.org/x/sys",
            "golang.org/x/image",
            "golang.org/x/oauth2",
            "google.golang.org/grpc",
            "google.golang.org/protobuf",
            "github.com/golang/protobuf",
            "gopkg.in/yaml.v2",
            "gopkg.in/yaml.v3",
            "github.com/gin-gonic/gin",
            "github.com/gorilla/websocket",
            "github.com/labstack/echo/v4",
            "github.com/gofiber/fiber/v2",
            "github.com/dgrijalva/jwt-go",
            "github.com/golang-jwt/jwt/v4",
            "github.com/prometheus/client_golang",
            "github.com/sirupsen/logrus",
            "github.com/hashicorp/go-getter",
            "github.com/opencontainers/runc",
            "github.com/containerd/containerd",
            "k8s.io/client-go",
            "k8s.io/apimachinery",
            "github.com/go-git/go-git/v5",
            "github.com/jackc/pgx/v4",
            "github.com/jackc/pgx/v5",
            "github.com/tidwall/gjson",
            "github.com/ulikunitz/xz",
            "github.com/klauspost/compress",
            "github.com/quic-go/quic-go",
            "github.com/docker/docker",
        ),
    ),
    "crates.io": Source(
        "RustSec Advisory Database (OSV export)",
        "https://github.com/rustsec/advisory-db",
        "CC0-1.0",
        SHARED / "crates" / "crates",
        "2026-08-21",
        (
            "tokio",
            "hyper",
            "h2",
            "openssl",
            "openssl-src",
            "rustls",
            "rustls-webpki",
            "ring",
            "time",
            "chrono",
            "regex",
            "smallvec",
            "bytes",
            "crossbeam-channel",
            "futures-util",
            "tar",
            "zip",
            "git2",
            "sqlx",
            "diesel",
            "actix-web",
            "tower-http",
            "hashbrown",
            "once_cell",
            "base64",
            "rand",
            "quinn-proto",
            "ammonia",
            "pyo3",
        ),
    ),
    "npm": Source(
        "GitHub Advisory Database",
        "https://github.com/github/advisory-database",
        "CC-BY-4.0",
        ROOT / "tests" / "data" / "sca" / "ghsa",
        None,
        ("follow-redirects",),
        complete=False,
    ),
}


def read_records(ecosystem: str, path: Path) -> dict[str, list[Mapping[str, Any]]]:
    """Every live record under ``path`` naming an ``ecosystem`` package, by package key."""
    by_package: dict[str, list[Mapping[str, Any]]] = {}
    _, records = open_records(path)
    for _, raw in records:
        record = check_record(raw)
        if record.get("withdrawn"):
            continue  # never matched by the gate: no reason to ship it
        names = {
            normalize_name(ecosystem, str(a["package"]["name"]))
            for a in record.get("affected", [])
            if a.get("package", {}).get("ecosystem") == ecosystem
        }
        for name in names:
            by_package.setdefault(name, []).append(record)
    return by_package


def select(
    ecosystem: str,
    packages: Sequence[str],
    by_package: Mapping[str, list[Mapping[str, Any]]],
    cap: int,
) -> tuple[list[Mapping[str, Any]], list[str], list[str]]:
    """Records taken (by id), packages taken, packages left out by the cap (whole packages)."""
    taken: dict[str, Mapping[str, Any]] = {}
    included: list[str] = []
    left_out: list[str] = []
    for package in packages:
        key = normalize_name(ecosystem, package)
        records = by_package.get(key, [])
        new = {str(r["id"]): r for r in records if str(r["id"]) not in taken}
        if len(taken) + len(new) > cap:
            left_out.append(key)
            continue
        taken.update(new)
        included.append(key)
    return [taken[k] for k in sorted(taken)], included, left_out


def _date(source: Source, records: Sequence[Mapping[str, Any]], given: str) -> str:
    if given or source.date:
        return str(given or source.date)
    return max((str(r["modified"])[:10] for r in records), default="1970-01-01")


def write_ecosystem(
    out: Path, ecosystem: str, source: Source, date: str, cap: int
) -> dict[str, Any] | None:
    """Write ``<ecosystem>.json``; its ``contents.json`` entry, None when no record is taken."""
    by_package = read_records(ecosystem, source.path)
    records, included, left_out = select(ecosystem, source.packages, by_package, cap)
    if not records:
        return None
    entry = {
        "file": f"{ecosystem}.json",
        "date": _date(source, records, date),
        "source": f"{source.name} ({source.url})",
        "licence": source.licence,
        "records": len(records),
        # Every listed package taken: the sample speaks for these and no other.
        "packages": included if source.complete else [p for p in included if by_package.get(p)],
        "complete": source.complete,
        "left_out_by_cap": left_out,
    }
    document = {"ecosystem": ecosystem, **entry, "records": records}
    (out / str(entry["file"])).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return entry


def licence_text(contents: Mapping[str, Any]) -> str:
    """The attribution file: every bundled ecosystem's source, date, licence and packages."""
    lines = [
        "The files beside this one hold vulnerability records copied from public advisory",
        "databases by scripts/osv_snapshot.py. Records are unchanged apart from YAML being",
        "written as JSON; Bastion only wraps them in a JSON envelope with their date and source.",
        "",
    ]
    licences = {
        "CC-BY-4.0": "Creative Commons Attribution 4.0 International, "
        "https://creativecommons.org/licenses/by/4.0/legalcode",
        "CC0-1.0": "Creative Commons Zero 1.0, https://creativecommons.org/publicdomain/zero/1.0/",
    }
    for entry in contents["ecosystems"].values():
        lines += [
            f"{entry['file']}: {entry['records']} records from {entry['source']}.",
            f"  Licence: {entry['licence']} ({licences.get(entry['licence'], 'see the source')}).",
            f"  Copyright the {entry['source'].split(' (')[0]} contributors; "
            f"data of {entry['date']}.",
            f"  Packages: {', '.join(entry['packages'])}"
            + ("." if entry["complete"] else " (some of their records only: a partial sample)."),
            "",
        ]
    for ecosystem, message in contents["without_records"].items():
        lines.append(f"{ecosystem}: {message}.")
    return "\n".join(lines).rstrip() + "\n"


def build(
    out: Path, sources: Mapping[str, Source], dates: Mapping[str, str], cap: int
) -> dict[str, Any]:
    """Write every ecosystem file, ``contents.json`` and the licence note into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.json"):
        stale.unlink()  # an ecosystem dropped from the sources must not linger
    ecosystems: dict[str, Any] = {}
    for ecosystem, source in sorted(sources.items()):
        entry = write_ecosystem(out, ecosystem, source, dates.get(ecosystem, ""), cap)
        if entry is not None:
            ecosystems[ecosystem] = entry
    without = {e: missing_message(e) for e in PARSED_ECOSYSTEMS if e not in ecosystems}
    contents = {"format": SNAPSHOT_FORMAT, "ecosystems": ecosystems, "without_records": without}
    (out / CONTENTS).write_text(json.dumps(contents, indent=1, sort_keys=True) + "\n")
    (out / LICENCE_FILE).write_text(licence_text(contents))
    return contents


def _pairs(values: Sequence[str], flag: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or key not in SOURCES:
            raise SystemExit(
                f"{flag} {value!r}: write ECOSYSTEM=VALUE, ECOSYSTEM one of {', '.join(SOURCES)}"
            )
        pairs[key] = rest
    return pairs


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, build the snapshot, print one line per ecosystem."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", action="append", default=[], help="ECOSYSTEM=PATH")
    parser.add_argument("--date", action="append", default=[], help="ECOSYSTEM=YYYY-MM-DD")
    parser.add_argument("--only", action="append", default=[], help="only these ecosystems")
    parser.add_argument("--cap", type=int, default=DEFAULT_CAP, help="records per ecosystem")
    parser.add_argument("--out", type=Path, default=ROOT / "src/bastion/scanners/sca/snapshot")
    args = parser.parse_args(argv)
    paths = _pairs(args.records, "--records")
    sources = {
        e: Source(
            s.name, s.url, s.licence, Path(paths.get(e, s.path)), s.date, s.packages, s.complete
        )
        for e, s in SOURCES.items()
        if not args.only or e in args.only
    }
    missing = [f"{e}: {s.path}" for e, s in sources.items() if not s.path.exists()]
    if missing:
        print(
            f"records folders not found ({'; '.join(missing)}); give --records ECOSYSTEM=PATH",
            file=sys.stderr,
        )
        return 2
    contents = build(args.out, sources, _pairs(args.date, "--date"), args.cap)
    for ecosystem, entry in contents["ecosystems"].items():
        count = len(entry["packages"])
        print(f"{ecosystem}: {entry['records']} records of {entry['date']} ({count} packages)")
    for message in contents["without_records"].values():
        print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
