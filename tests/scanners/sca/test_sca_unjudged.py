"""Issue 23 §2: manifests found and not judged are listed; requirements files found by folder
and by their -r/-c includes."""

from __future__ import annotations

from pathlib import Path

from bastion.scanners.interface import ScanRequest
from bastion.scanners.sca.gate import ScaGate
from bastion.scanners.sca.model import Relation
from bastion.scanners.sca.parsers import discover


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_manifests_without_parser_or_lock_are_listed_not_blocking(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "requirements.txt": "idna==3.7\n",
            "pom.xml": "<project/>\n",
            "web/package.json": '{"dependencies": {"left-pad": "^1.3.0"}}\n',
            "svc/App.csproj": "<Project/>\n",
            "ws/package-lock.json": '{"lockfileVersion": 3, "packages": {}}',
            "ws/member/package.json": "{}",  # a workspace member: the lock is above it
        },
    )
    report = ScaGate(database_dir=tmp_path / "no-db").scan(ScanRequest(root=root))
    assert report.findings == ()
    assert report.facts["not_judged"] == [
        {"path": "pom.xml", "reason": "no Maven parser yet"},
        {"path": "svc/App.csproj", "reason": "no NuGet parser yet"},
        {
            "path": "web/package.json",
            "reason": "no lock file (package-lock.json or npm-shrinkwrap.json or yarn.lock or "
            "pnpm-lock.yaml) beside it or above it: the versions installed are not known",
        },
    ]
    assert "not judged: pom.xml — no Maven parser yet" in report.notices
    assert "not judged: pom.xml — no Maven parser yet" in report.notes


def test_not_judged_is_said_even_with_nothing_to_judge(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"build.gradle": "plugins {}\n"})
    report = ScaGate(database_dir=tmp_path / "no-db").scan(ScanRequest(root=root))
    assert report.notices == ("not judged: build.gradle — no Gradle parser yet",)


def test_requirements_folder_and_constraint_includes_are_judged(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "requirements/prod.txt": "flask\n-c ../pins.txt\n",
            "pins.txt": "flask==0.12.2\n",
        },
    )
    found = discover(root)
    assert found.manifests == ["requirements/prod.txt"]
    pins = [(d.path, d.version, d.relation) for d in found.dependencies if d.version]
    assert pins == [("pins.txt", "0.12.2", Relation.UNKNOWN)]
    report = ScaGate(database_dir=tmp_path / "no-db").scan(ScanRequest(root=root))
    assert "CVE-2018-1000656" in {f.rule_id for f in report.findings}
