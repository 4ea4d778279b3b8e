"""`bastion db update|import|status` as a user types them."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bastion.cli.db import register
from bastion.errors import UsageError
from bastion.scanners.sca.errors import ArchiveError, DatabaseError
from bastion.scanners.sca.update import UpdateError

DATA = Path(__file__).resolve().parents[1] / "data" / "sca" / "osv"
BASTION = str(Path(sys.executable).with_name("bastion"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(path))
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Test root."""

    return app


def test_status_without_a_database_says_the_snapshot_is_used(home: Path) -> None:
    result = CliRunner().invoke(_app(), ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "bundled OSV snapshot" in result.output
    result = CliRunner().invoke(_app(), ["db", "status", "--json"])
    assert json.loads(result.stdout)["ecosystems"] == []


def test_import_then_status(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        _app(), ["db", "import", str(DATA), "--source", "fixtures", "--date", "2026-08-21"]
    )
    assert result.exit_code == 0, result.output
    assert "PyPI" in result.stdout
    assert "fixtures" in result.stdout
    result = runner.invoke(_app(), ["db", "status", "--json"])
    data = json.loads(result.stdout)
    assert data["directory"] == str(home / "osv")
    rows = {row["ecosystem"]: row for row in data["ecosystems"]}
    assert rows["PyPI"]["records"] == 10
    assert rows["PyPI"]["withdrawn"] == 1
    assert rows["Go"]["snapshot_date"] == "2026-08-21"
    assert isinstance(rows["Go"]["age_days"], int)
    result = runner.invoke(_app(), ["db", "status"])
    assert "crates.io" in result.stdout
    result = runner.invoke(_app(), ["db", "import", str(DATA / "go"), "--json", "-e", "Go"])
    summary = json.loads(result.stdout)
    assert [row["ecosystem"] for row in summary["ecosystems"]] == ["Go"]
    assert (summary["layout"], summary["records"], summary["skipped"]) == (
        "folder of OSV records",
        3,
        0,
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["db", "import", "PATH", "--date", "yesterday"], UsageError),
        (["db", "import", "PATH", "-e", "Cobol"], UsageError),
        (["db", "import", "MISSING"], ArchiveError),
        (["db", "update", "-e", "PyPI", "--mirror", "ftp://mirror.example"], DatabaseError),
    ],
)
def test_bad_use_raises_bastion_errors(home: Path, args: list[str], error: type[Exception]) -> None:
    args = [
        str(DATA) if a == "PATH" else str(home / "missing") if a == "MISSING" else a for a in args
    ]
    result = CliRunner().invoke(_app(), args)
    assert isinstance(result.exception, error)


@pytest.fixture
def mirror() -> Iterator[str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((DATA / "go").glob("*.json")):
            archive.writestr(path.name, path.read_bytes())
    body = buffer.getvalue()
    files = {
        "/Go/all.zip": body,
        "/Go/all.zip.sha256": hashlib.sha256(body).hexdigest().encode(),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path not in files:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(files[self.path])))
            self.end_headers()
            self.wfile.write(files[self.path])

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_update_from_a_loopback_mirror(home: Path, mirror: str) -> None:
    result = CliRunner().invoke(_app(), ["db", "update", "-e", "Go", "--mirror", mirror])
    assert result.exit_code == 0, result.output
    assert "verified by sha256 sidecar" in result.stderr
    result = CliRunner().invoke(_app(), ["db", "update", "-e", "Go", "--mirror", mirror, "--json"])
    [row] = json.loads(result.stdout)
    assert row["verification"] == "sha256 sidecar"
    assert row["records"] == 2


def test_exit_codes_through_the_real_command(tmp_path: Path) -> None:
    env = {**os.environ, "BASTION_HOME": str(tmp_path / "home")}

    def bastion(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [BASTION, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )

    unreachable = bastion(
        "db", "update", "-e", "PyPI", "--mirror", "http://127.0.0.1:9", "--timeout", "5"
    )
    assert unreachable.returncode == 3
    assert "cannot download http://127.0.0.1:9/PyPI/all.zip" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
    assert bastion("db", "import", str(DATA), "--date", "bad").returncode == 2


def test_import_a_pypa_clone_says_what_it_skipped(home: Path, tmp_path: Path) -> None:
    clone = tmp_path / "advisory-database"
    for record in sorted((DATA / "pypa").glob("*/*.yaml")):
        target = clone / "vulns" / record.parent.name / record.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(record.read_bytes())
    (clone / "triage").mkdir()
    (clone / "triage" / "false_positives.yaml").write_text("- id: PYSEC-0\n  reason: none\n")
    (clone / "README.md").write_text("# PyPA advisories\n")
    result = CliRunner().invoke(_app(), ["db", "import", str(clone)])
    assert result.exit_code == 0, result.output
    assert (
        "read 11 records as pypa/advisory-database; skipped 2 files that are not records "
        "(README.md, triage/false_positives.yaml)"
    ) in result.stderr
    assert "PyPI" in result.stdout


def test_update_a_projects_ecosystems(home: Path, mirror: str, tmp_path: Path) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "go.mod").write_text(
        "module example.com/app\n\ngo 1.22\n\nrequire github.com/gin-gonic/gin v1.5.0\n"
    )
    result = CliRunner().invoke(_app(), ["db", "update", str(project), "--mirror", mirror])
    assert result.exit_code == 0, result.output
    assert "updating Go into" in result.stderr
    (project / "requirements.txt").write_text("requests==2.19.1\n")
    result = CliRunner().invoke(_app(), ["db", "update", str(project), "--mirror", mirror])
    # The mirror has no PyPI archive: Go is updated, PyPI named as failed, the run fails.
    assert isinstance(result.exception, UpdateError)
    assert "could not update PyPI" in result.exception.message
    assert "Go: " in result.stderr
