"""Issue 23: a severity from the record, else from its aliases, else ``unknown`` (never medium)."""

from __future__ import annotations

from pathlib import Path

from bastion.scanners.finding import Severity
from bastion.scanners.sca.database import import_path
from bastion.scanners.sca.index import EcosystemIndex
from bastion.scanners.sca.severity import judge_severity

from .sca_data import DATA, advisory

ALIASES = DATA / "osv-aliases"


def test_a_record_without_severity_borrows_its_aliases_cvss(tmp_path: Path) -> None:
    import_path(ALIASES, tmp_path)
    index = EcosystemIndex.open(tmp_path, "Go")
    try:
        (go,) = index.lookup("Go", "github.com/lf-edge/ekuiper")
    finally:
        index.close()
    assert go.id == "GO-2024-3078"
    assert go.severity_from == "PYSEC-2024-72"
    judged = judge_severity([go])
    assert judged.severity is Severity.HIGH
    assert judged.score == 8.8
    assert judged.source == "CVSS 3.1 base score (from alias PYSEC-2024-72)"


def test_alone_the_same_record_is_unknown_not_medium(tmp_path: Path) -> None:
    alone = tmp_path / "records"
    alone.mkdir()
    (alone / "GO-2024-3078.json").write_bytes((ALIASES / "GO-2024-3078.json").read_bytes())
    import_path(alone, tmp_path / "db")
    index = EcosystemIndex.open(tmp_path / "db", "Go")
    try:
        (go,) = index.lookup("Go", "github.com/lf-edge/ekuiper")
    finally:
        index.close()
    judged = judge_severity([go])
    assert judged.severity is Severity.UNKNOWN
    assert judged.source.startswith("severity unknown")


def test_database_specific_severity_is_used_when_there_is_no_vector() -> None:
    # GHSA-2jxw-4hm4-6w87 carries a CVSS vector and a word; without the vector, the word.
    record = advisory("../ghsa/GHSA-2jxw-4hm4-6w87.json")
    word_only = type(record)(
        id=record.id,
        aliases=record.aliases,
        summary=record.summary,
        modified=record.modified,
        severity=(),
        db_severity=record.db_severity,
        affected=record.affected,
    )
    assert record.db_severity is not None
    judged = judge_severity([word_only])
    assert judged.severity is Severity.parse(record.db_severity)
    assert judged.source == "GHSA-2jxw-4hm4-6w87 database severity"
