"""Whole runs (``bastion run``, real bubblewrap) with an egress allow-list and vault secrets.

Each test builds a committed git repository in tmp_path with its own BASTION_HOME and vault
key, so nothing is shared between tests or with the machine's own vault.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import git, run_bastion

pytestmark = pytest.mark.integration


class _Hello(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        body = b"hello from the host"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server_port() -> Iterator[int]:
    """A loopback HTTP server on the host, standing in for an allow-listed service."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A private Bastion home and vault key for one test."""
    return {
        **os.environ,
        "BASTION_HOME": str(tmp_path / "home"),
        "BASTION_VAULT_KEK": base64.b64encode(os.urandom(32)).decode(),
    }


def bastion(
    env: dict[str, str], *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return run_bastion(*args, env=env, stdin=stdin)


def make_repo(tmp_path: Path, pipeline: str, files: dict[str, str] | None = None) -> Path:
    """A committed repository on branch main holding ``pipeline`` and ``files``."""
    repo = tmp_path / "repo"
    (repo / ".bastion").mkdir(parents=True)
    (repo / ".bastion" / "pipeline.yml").write_text(pipeline)
    (repo / "README").write_text("a test project\n")
    for name, text in (files or {}).items():
        (repo / name).write_text(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    return repo


def _token(prefix: str) -> str:
    return prefix + base64.urlsafe_b64encode(os.urandom(24)).decode()


def set_secret(env: dict[str, str], name: str, value: str, *scope: str) -> None:
    done = bastion(env, "secrets", "set", name, *scope, stdin=value)
    assert done.returncode == 0, done.stderr


# Fetches through the job's proxy even for 127.0.0.1: NO_PROXY names it because inside the
# sandbox it is the sandbox's own loopback (a job's test servers), not the host's.
_FETCH = (
    "import os, sys, urllib.error, urllib.request\n"
    "os.environ.pop('NO_PROXY'); os.environ.pop('no_proxy')\n"
    "proxy = urllib.request.ProxyHandler({'http': os.environ['HTTP_PROXY']})\n"
    "opener = urllib.request.build_opener(proxy)\n"
    "try:\n"
    "    print(opener.open(sys.argv[1], timeout=10).read().decode())\n"
    "except urllib.error.HTTPError as exc:\n"
    "    print('refused', exc.code, exc.headers.get('X-Bastion-Egress'))\n"
)

# Looks for a value it only knows by length and SHA-256, so a job that could see it would
# say so without ever printing it.
_SEARCH = (
    "import hashlib, os, sys\n"
    "digest, size = sys.argv[1], int(sys.argv[2])\n"
    "blobs = [k.encode() + b'=' + v.encode() for k, v in os.environ.items()]\n"
    "for root in ('/run', '/tmp', '.'):\n"
    "    for base, _dirs, files in os.walk(root):\n"
    "        for name in files:\n"
    "            try:\n"
    "                blobs.append(open(os.path.join(base, name), 'rb').read(1 << 20))\n"
    "            except OSError:\n"
    "                pass\n"
    "for path in ('/proc/self/environ', '/proc/1/environ', '/proc/1/cmdline'):\n"
    "    try:\n"
    "        blobs.append(open(path, 'rb').read())\n"
    "    except OSError:\n"
    "        pass\n"
    "found = any(hashlib.sha256(b[i:i + size]).hexdigest() == digest\n"
    "            for b in blobs for i in range(len(b) - size + 1))\n"
    "print('searched', len(blobs), 'places:', 'FOUND' if found else 'not found')\n"
    "sys.exit(1 if found else 0)\n"
)


_SHOW = (
    "import base64, os\n"
    "raw = os.environ['TOKEN'].encode()\n"
    "print('b64:', base64.b64encode(raw).decode())\n"
    "print('hex:', raw.hex())\n"
)


def _pipeline(port: int, value: str) -> str:
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"""
jobs:
  reach:
    network: ["127.0.0.1:{port}"]
    steps:
      - run: python3 fetch.py http://127.0.0.1:{port}/hello
  denied:
    network: [example.org]
    steps:
      - run: python3 fetch.py http://127.0.0.1:{port}/hello
  with-secret:
    secrets: [TOKEN]
    steps:
      - name: the value is in the environment and in /run/bastion
        run: test "$TOKEN" = "$(cat /run/bastion/TOKEN)"
      - name: print it three ways
        run: |
          echo "plain: $TOKEN"
          python3 show.py
  without-secret:
    steps:
      - run: python3 search.py {digest} {len(value)}
"""


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [value, base64.b64encode(raw).decode(), raw.hex()]


def test_allow_list_secrets_and_masking_in_one_run(
    tmp_path: Path, env: dict[str, str], server_port: int
) -> None:
    value = _token("tok_")
    files = {"fetch.py": _FETCH, "search.py": _SEARCH, "show.py": _SHOW}
    repo = make_repo(tmp_path, _pipeline(server_port, value), files)
    set_secret(env, "TOKEN", value, "--repo", str(repo), "--trust", "local")

    done = bastion(env, "run", "-C", str(repo), "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {job: info["state"] for job, info in result["jobs"].items()} == {
        "reach": "passed",
        "denied": "passed",
        "with-secret": "passed",
        "without-secret": "passed",
    }
    run_dir = repo / ".bastion" / "state" / "logs" / str(result["run_id"])
    # (a) the listed loopback service is reached; another host is refused; both recorded
    assert "hello from the host" in (run_dir / "reach.log").read_text()
    assert "refused 403 denied" in (run_dir / "denied.log").read_text()
    reached = [
        json.loads(line) for line in (run_dir / "reach.egress.jsonl").read_text().splitlines()
    ]
    assert [(r["host"], r["port"], r["allowed"]) for r in reached] == [
        ("127.0.0.1", server_port, True)
    ]
    assert reached[0]["address"] == "127.0.0.1"
    refused = [
        json.loads(line) for line in (run_dir / "denied.egress.jsonl").read_text().splitlines()
    ]
    assert [(r["host"], r["allowed"]) for r in refused] == [("127.0.0.1", False)]
    assert "not in the allow-list" in refused[0]["reason"]
    assert not (run_dir / "with-secret.egress.jsonl").exists()  # network: none has no proxy
    # (b) printed plain, in base64 and in hex: masked in the log file and in `bastion logs`
    logged = (run_dir / "with-secret.log").read_text()
    shown = bastion(env, "logs", str(result["run_id"]), "with-secret", "-C", str(repo))
    assert shown.returncode == 0, shown.stderr
    for text in (logged, shown.stdout, done.stdout, done.stderr):
        for form in _forms(value):
            assert form not in text
    for label in ("plain: ***", "b64: ***", "hex: ***"):
        assert label in logged
        assert label in shown.stdout
    # (d) the job without `secrets:` cannot find it anywhere it can look
    assert "not found" in (run_dir / "without-secret.log").read_text()
    # every release is in the audit log
    exported = bastion(env, "audit", "export", "-C", str(repo))
    assert exported.returncode == 0, exported.stderr
    assert "secret/TOKEN" in exported.stdout


@pytest.mark.parametrize(
    ("scope", "reason"),
    [
        (("--branch", "release/*", "--trust", "local"), "branch 'main' does not match"),
        ((), "trust level 'local' is not one of: release, trusted"),
    ],
)
def test_a_secret_out_of_scope_stops_the_run_before_any_job(
    tmp_path: Path, env: dict[str, str], scope: tuple[str, ...], reason: str
) -> None:
    repo = make_repo(
        tmp_path,
        """
jobs:
  first:
    steps: [{run: "echo first job ran"}]
  publish:
    needs: [first]
    secrets: [DEPLOY_KEY]
    steps: [{run: "echo publishing"}]
""",
    )
    set_secret(env, "DEPLOY_KEY", _token("dk_"), *scope)

    done = bastion(env, "run", "-C", str(repo))

    assert done.returncode == 2, done.stderr
    assert "secret DEPLOY_KEY is not released to job publish" in done.stderr
    assert reason in done.stderr
    assert "Traceback" not in done.stderr
    logs = repo / ".bastion" / "state" / "logs"
    assert not list(logs.glob("*/*.log"))  # no job started, not even the one without secrets


def test_a_missing_secret_stops_the_run_with_the_command_to_store_it(
    tmp_path: Path, env: dict[str, str]
) -> None:
    repo = make_repo(
        tmp_path, "jobs:\n  publish:\n    secrets: [NOPE]\n    steps: [{run: 'true'}]\n"
    )
    done = bastion(env, "run", "-C", str(repo))
    assert done.returncode == 2
    assert "needs secret 'NOPE', which is not in the vault" in done.stderr
    assert "bastion secrets set NOPE" in done.stderr
