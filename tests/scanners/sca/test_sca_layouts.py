"""``bastion db import`` of the advisory repositories as users clone them (issue 19).

Each tree is built from real records placed at their real relative paths, beside the kinds of
files those repositories also hold (README, triage notes, CODEOWNERS, CI workflows, Go's own
report YAML): those are skipped and counted, a broken record fails the whole import.
"""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bastion.scanners.sca.database import ImportSummary, import_path, status
from bastion.scanners.sca.errors import ArchiveError
from bastion.scanners.sca.index import EcosystemIndex
from bastion.scanners.sca.layouts import LAYOUTS, OSV_RECORDS, detect

from .sca_data import DATA, OSV

GHSA = DATA / "ghsa"

# What the repositories hold besides records (contents written for these tests).
_OTHER_FILES = {
    "README.md": "# Advisory database\n",
    "LICENSE": "CC-BY-4.0\n",
    "CODEOWNERS": "* @security-team\n",
    ".github/workflows/validate.yml": "on: [push]\njobs: {}\n",
}


def _place(root: Path, files: dict[str, Path | str]) -> Path:
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        else:
            target.write_text(content)
    return root


def _pypa(root: Path) -> Path:
    records: dict[str, Path | str] = {
        f"vulns/{p.parent.name}/{p.name}": p for p in sorted((OSV / "pypa").glob("*/*.yaml"))
    }
    triage = "- id: PYSEC-2021-0001\n  reason: not a vulnerability\n  modified: 2021-01-01\n"
    return _place(root, {**records, **_OTHER_FILES, "triage/false_positives.yaml": triage})


def _golang(root: Path) -> Path:
    records: dict[str, Path | str] = {
        f"data/osv/{p.name}": p for p in sorted((OSV / "go").glob("*.json"))
    }
    report = "id: GO-2020-0001\nmodules:\n  - module: github.com/gin-gonic/gin\n"
    return _place(
        root,
        {
            **records,
            **_OTHER_FILES,
            "data/reports/GO-2020-0001.yaml": report,
            "data/excluded/GO-2022-0001.yaml": "id: GO-2022-0001\nexcluded: NOT_IMPORTABLE\n",
            "internal/testdata/vuln.json": '{"id": "TEST-1"}',
            "go.mod": "module golang.org/x/vulndb\n\ngo 1.22\n",
        },
    )


def _rustsec(root: Path) -> Path:
    records: dict[str, Path | str] = {
        f"crates/{p.name}": p for p in sorted((OSV / "crates").glob("*.json"))
    }
    return _place(root, {**records, "README.md": "# RustSec OSV export\n"})


def _github(root: Path) -> Path:
    records: dict[str, Path | str] = {
        f"advisories/github-reviewed/2024/01/{p.stem}/{p.name}": p
        for p in sorted(GHSA.glob("GHSA-*.json"))
    }
    unreviewed = "advisories/unreviewed/2024/01/GHSA-xxxx-xxxx-xxxx/GHSA-xxxx-xxxx-xxxx.json"
    return _place(root, {**records, **_OTHER_FILES, unreviewed: '{"id": "GHSA-xxxx-xxxx-xxxx"}'})


@pytest.mark.parametrize(
    ("build", "layout", "records", "skipped", "ecosystems"),
    [
        (_pypa, "pypa/advisory-database", 11, 5, {"PyPI": (10, 1)}),
        (_golang, "golang/vulndb", 3, 8, {"Go": (2, 1)}),
        (_rustsec, "rustsec/advisory-db (osv branch)", 3, 1, {"crates.io": (2, 1)}),
        (_github, "github/advisory-database", 2, 5, {"PyPI": (1, 0), "npm": (1, 0)}),
    ],
)
def test_each_cloned_layout_imports_its_records_and_counts_the_rest(
    tmp_path: Path,
    build: Callable[[Path], Path],
    layout: str,
    records: int,
    skipped: int,
    ecosystems: dict[str, tuple[int, int]],
) -> None:
    root = build(tmp_path / "clone")
    summary = import_path(root, tmp_path / "osv")
    assert (summary.layout, summary.records, summary.skipped) == (layout, records, skipped)
    assert "README.md" in summary.skipped_examples
    assert {m.ecosystem: (m.records, m.withdrawn) for m in summary.metas} == ecosystems
    assert [m.ecosystem for m in status(tmp_path / "osv")] == sorted(ecosystems)


def test_pypa_clone_finds_the_expected_advisories(tmp_path: Path) -> None:
    import_path(_pypa(tmp_path / "advisory-database"), tmp_path / "osv")
    index = EcosystemIndex.open(tmp_path / "osv", "PyPI")
    assert [a.id for a in index.lookup("PyPI", "requests")][:2] == [
        "PYSEC-2014-13",
        "PYSEC-2014-14",
    ]
    index.close()


def test_github_export_is_matched_by_package(tmp_path: Path) -> None:
    import_path(_github(tmp_path / "advisory-database"), tmp_path / "osv")
    index = EcosystemIndex.open(tmp_path / "osv", "npm")
    [advisory] = index.lookup("npm", "follow-redirects")
    assert (advisory.id, advisory.aliases) == ("GHSA-jchw-25xp-jwwc", ("CVE-2023-26159",))
    index.close()


def test_a_download_zip_of_a_repository_is_read_in_its_layout(tmp_path: Path) -> None:
    root = _pypa(tmp_path / "clone")
    archive = tmp_path / "advisory-database-main.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            out.write(file, f"advisory-database-main/{file.relative_to(root).as_posix()}")
    summary = import_path(archive, tmp_path / "osv")
    assert (summary.layout, summary.records, summary.skipped) == ("pypa/advisory-database", 11, 5)


def test_osv_all_zip_is_a_folder_of_records(tmp_path: Path) -> None:
    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in sorted((OSV / "go").glob("*.json")):
            out.write(file, file.name)
    summary = import_path(archive, tmp_path / "osv")
    assert (summary.layout, summary.records, summary.skipped) == (OSV_RECORDS.name, 3, 0)


def _imported_before(tmp_path: Path) -> tuple[Path, list[object]]:
    directory = tmp_path / "osv"
    import_path(OSV / "go", directory)
    return directory, list(status(directory))


@pytest.mark.parametrize(
    ("relative", "content", "reason"),
    [
        ("vulns/requests/PYSEC-9999-1.yaml", "summary: no id here\n", "'id' must be a string"),
        ("vulns/requests/PYSEC-9999-2.yaml", "id: [unclosed\n", "PYSEC-9999-2.yaml:2"),
        (
            "vulns/requests/PYSEC-9999-3.yaml",
            "id: PYSEC-9999-3\nmodified: 2024-01-01T00:00:00Z\n",
            "none of 'affected', 'withdrawn' and 'aliases'",
        ),
    ],
)
def test_a_malformed_record_fails_the_import_and_imports_nothing(
    tmp_path: Path, relative: str, content: str, reason: str
) -> None:
    directory, before = _imported_before(tmp_path)
    root = _pypa(tmp_path / "clone")
    _place(root, {relative: content})
    with pytest.raises(ArchiveError, match=f"malformed OSV record {relative}") as caught:
        import_path(root, directory)
    assert reason in caught.value.message
    assert "nothing was imported" in caught.value.diagnostics()
    assert status(directory) == before
    assert not list(directory.glob(".*"))


def test_broken_yaml_outside_the_record_location_is_only_skipped(tmp_path: Path) -> None:
    root = _pypa(tmp_path / "clone")
    _place(root, {"triage/broken.yaml": "id: [unclosed\n"})
    summary = import_path(root, tmp_path / "osv")
    assert (summary.records, summary.skipped) == (11, 6)


def test_main_branch_of_rustsec_is_not_mistaken_for_records(tmp_path: Path) -> None:
    # The main branch keeps advisories as Markdown under crates/<crate>/: nothing to import.
    root = _place(tmp_path / "advisory-db", {"crates/hyper/RUSTSEC-2021-0020.md": "```toml\n```"})
    with pytest.raises(ArchiveError, match="holds no OSV records") as caught:
        import_path(root, tmp_path / "osv")
    assert "osv branch" in caught.value.diagnostics()


def test_detection_walks_every_layout() -> None:
    examples = {
        "pypa/advisory-database": "vulns/x/PYSEC-1.yaml",
        "golang/vulndb": "data/osv/GO-1.json",
        "github/advisory-database": "advisories/github-reviewed/2024/01/GHSA-1/GHSA-1.json",
        "rustsec/advisory-db (osv branch)": "crates/RUSTSEC-1.json",
    }
    assert {layout.name for layout in LAYOUTS} == set(examples)
    for layout in LAYOUTS:
        assert detect([examples[layout.name], "README.md"]) == (layout, "")
    # A folder that merely has a crates/ subfolder beside others is a folder of records.
    assert detect(["crates/RUSTSEC-1.json", "go/GO-1.json"]) == (OSV_RECORDS, "")
    assert not OSV_RECORDS.holds_record(".github/workflows/ci.yml")
    assert OSV_RECORDS.holds_record("requests/PYSEC-1.yaml")


def test_summary_serialises(tmp_path: Path) -> None:
    summary = import_path(_rustsec(tmp_path / "clone"), tmp_path / "osv")
    data = summary.to_dict()
    assert isinstance(summary, ImportSummary)
    assert (data["layout"], data["records"], data["skipped"]) == (summary.layout, 3, 1)
    assert [row["ecosystem"] for row in data["ecosystems"]] == ["crates.io"]
