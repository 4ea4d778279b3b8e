"""Issue 14's scenario on a real ``bastion serve``: a forge (a work tree pushing to a bare
repository served over ``file://``), the server's mirror registered through the API, the
repository's GitHub webhook, a scoped secret in the server's vault, a ``production``
environment needing two approvers, and people with passwords, TOTP and API tokens.

What the tests then exercise goes through HTTP only: signed webhook deliveries, the runs and
approvals API, the approval page. The accounts, TOTP enrolments and the webhook's
configuration are written to the server's database as setup (no API sets a webhook yet).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp

from bastion.server import Accounts, Permission, Role, ServerSettings
from bastion.server.clock import system_clock
from bastion.server.principal import TokenScope
from bastion.server.tokens import ApiTokens
from bastion.server.totp import Totp
from bastion.server.webhook_signatures import Forge
from bastion.store import Database, open_database
from bastion.vault import Scope, open_default_vault
from tests.server.browser import LiveServer
from tests.server.conftest import PASSWORD
from tests.server.live_api import FINISHED, admin_token, call, git
from tests.server.webhook_payloads import body_of, github_pull, github_push, hub_signature

WEBHOOK_SECRET = "e2e-webhook-secret-0123456789"
DEPLOY_KEY = "dk_live_7Qm2Vx9LpR4tZ8wYc3Nf"  # generated for the test, never a real credential
AUDIENCE = "sts.example.com"

# The protected branch's pipeline: a wheel is built (its SBOM is what ships), a job reports
# what it was given (the secret masked, its hash, the identity token's claims), and the
# production deploy waits for four-eyes.
APP_PIPELINE = f"""\
name: app
on: [push, pull_request]
jobs:
  build:
    steps:
      - name: wheel
        run: python3 mkwheel.py
    artifacts: ["dist/*.whl"]
  whoami:
    secrets: [DEPLOY_KEY]
    id-token: {{audience: {AUDIENCE}}}
    steps:
      - name: report
        run: |
          echo "secret=$DEPLOY_KEY"
          printf %s "$DEPLOY_KEY" | sha256sum
          python3 claims.py
  deploy:
    needs: [{{job: build, artifacts: true}}, whoami]
    environment: production
    steps:
      - name: ship
        run: ls dist && echo shipped
"""

MKWHEEL = '''\
"""Writes dist/<name>-<version>-py3-none-any.whl from release.txt (name version, requires)."""
import pathlib
import zipfile

lines = pathlib.Path("release.txt").read_text().split()
name, version, requires = lines[0], lines[1], lines[2:]
info = f"{name}-{version}.dist-info"
meta = f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n"
meta += "".join(f"Requires-Dist: {r}\\n" for r in requires)
pathlib.Path("dist").mkdir(exist_ok=True)
with zipfile.ZipFile(f"dist/{name}-{version}-py3-none-any.whl", "w") as wheel:
    wheel.writestr(f"{name}/__init__.py", "")
    wheel.writestr(f"{info}/METADATA", meta)
    record = "".join(f"{p},,\\n" for p in (f"{name}/__init__.py", f"{info}/METADATA"))
    wheel.writestr(f"{info}/RECORD", record)
'''


# The identity token's claims (its middle part); the token itself is masked in logs.
CLAIMS = """\
import base64
payload = open("/run/bastion/id-token").read().split(".")[1]
print("claims=" + base64.urlsafe_b64decode(payload + "==").decode())
"""


@dataclass
class ForgeRepo:
    """A forge's repository: a work tree that pushes to a bare repository (``file://``)."""

    work: Path
    bare: Path
    mirror: Path

    @classmethod
    def create(cls, root: Path, files: dict[str, str]) -> ForgeRepo:
        work, bare, mirror = root / "work", root / "forge.git", root / "mirror.git"
        root.mkdir(parents=True)
        git(root, "init", "-q", "--bare", str(bare))
        git(root, "init", "-q", "--bare", "-b", "main", str(mirror))
        work.mkdir()
        git(work, "init", "-q", "-b", "main")
        made = cls(work, bare, mirror)
        made.commit("first", "dev", **files)
        made.push("main")
        return made

    def commit(self, message: str, author: str, **files: str) -> str:
        """Commit ``files`` (path to text) as ``author`` <author@example.com>; the sha."""
        for name, text in files.items():
            target = self.work / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "-A")
        # The environment's GIT_AUTHOR_*/GIT_COMMITTER_* would win over `-c user.name`.
        email = f"{author}@example.com"
        who = {"GIT_AUTHOR_NAME": author, "GIT_AUTHOR_EMAIL": email}
        who |= {"GIT_COMMITTER_NAME": author, "GIT_COMMITTER_EMAIL": email}
        subprocess.run(
            ["git", "commit", "-q", "--allow-empty", "-m", message],
            cwd=self.work,
            env=os.environ | who,
            check=True,
            capture_output=True,
        )
        return git(self.work, "rev-parse", "HEAD")

    def push(self, *refspecs: str) -> None:
        git(self.work, "push", "-q", "-f", str(self.bare), *refspecs)

    def pull_request(self, number: int, author: str, **files: str) -> str:
        """A commit on top of main pushed as ``refs/pull/N/head`` (main is left as it was)."""
        base = git(self.work, "rev-parse", "HEAD")
        head = self.commit(f"pull request {number}", author, **files)
        self.push(f"HEAD:refs/pull/{number}/head")
        git(self.work, "reset", "-q", "--hard", base)
        return head


@dataclass
class Person:
    """An account with a password, a confirmed TOTP secret and an API token."""

    name: str
    totp: pyotp.TOTP
    token: str

    def code(self, offset: float = 0.0) -> str:
        return self.totp.at(datetime.now(UTC) + timedelta(seconds=offset))


@dataclass
class Scene:
    """The live server with its admin token, people and forge repositories."""

    server: LiveServer
    db: Database
    admin: str
    people: dict[str, Person] = field(default_factory=dict)
    repos: dict[str, ForgeRepo] = field(default_factory=dict)
    # Runs of app's main whose production deploy waits; whether production runs app yet.
    # (Tests may be spread over xdist workers, each with a server of its own: a test that
    # needs either makes it, see waiting_deploy and released.)
    deploys: list[int] = field(default_factory=list)
    deployed: bool = False

    def close(self) -> None:
        self.db.dispose()

    def person(self, name: str, role: Role = Role.MAINTAINER) -> Person:
        """An account with ``PASSWORD``, TOTP confirmed with the previous step's code (so
        this step's is still unused) and an API token with every permission."""
        settings = ServerSettings("127.0.0.1", 8080, self.server.database_url)
        accounts = Accounts(self.db, settings, system_clock)
        user, setup = accounts.add(name, role)
        accounts.complete_setup(setup, PASSWORD)
        totp = Totp(self.db, system_clock)
        secret = pyotp.TOTP(totp.begin(user.id).secret)
        totp.confirm(user.id, secret.at(datetime.now(UTC) - timedelta(seconds=30)))
        scope = TokenScope(frozenset({"*"}), frozenset(Permission))
        token = ApiTokens(self.db, settings, system_clock).create(user.id, "e2e", scope, 1)[1]
        self.people[name] = Person(name, secret, token)
        return self.people[name]

    def repository(self, name: str, root: Path, files: dict[str, str]) -> ForgeRepo:
        """A forge repository, its mirror registered through the API, its GitHub webhook."""
        forge = ForgeRepo.create(root, files)
        call(
            self.server,
            "POST",
            "/api/repositories",
            self.admin,
            {"name": name, "path": str(forge.mirror)},
        )
        self.server.webhooks(self.db).configure(
            name, Forge.GITHUB, WEBHOOK_SECRET, f"file://{forge.bare}"
        )
        self.repos[name] = forge
        return forge

    def deliver(self, repo: str, event: str, payload: dict[str, Any]) -> httpx.Response:
        """One delivery signed like GitHub's (``X-Hub-Signature-256`` over the exact body)."""
        body = body_of(payload)
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": hub_signature(WEBHOOK_SECRET, body),
            "Content-Type": "application/json",
        }
        url = f"{self.server.base_url}/api/webhooks/github/{repo}"
        return httpx.post(url, content=body, headers=headers, timeout=60)

    def push(self, repo: str, pusher: str) -> int:
        """Push main to the forge and deliver its push event; the queued run's id."""
        forge = self.repos[repo]
        forge.push("main")
        head = git(forge.work, "rev-parse", "HEAD")
        response = self.deliver(repo, "push", github_push("refs/heads/main", head, pusher=pusher))
        assert response.status_code == 202, response.text
        return int(response.json()["run"])

    def pull(self, repo: str, number: int, head: str, author: str, *, fork: bool) -> int:
        """Deliver a pull request opened from a fork or from the repository itself."""
        head_repo = "mallory/app" if fork else "acme/app"
        payload = github_pull("opened", number, head, head_repo=head_repo, author=author)
        response = self.deliver(repo, "pull_request", payload)
        assert response.status_code == 202, response.text
        return int(response.json()["run"])

    def waiting_deploy(self) -> int:
        """A run of app's main whose production deploy waits: one already waiting, else a
        change by ``dev`` pushed by ``alice`` now (so both are in what ships)."""
        if self.deploys:
            return self.deploys.pop(0)
        change = {"src/app.py": f"CHANGE = {uuid.uuid4().hex!r}\n"}
        self.repos["app"].commit("a change", "dev", **change)
        run_id = self.push("app", pusher="alice")
        self.pending_request(run_id)
        return run_id

    def released(self) -> None:
        """Production runs app's main (approved by gina and hank), unless it does already."""
        if self.deployed:
            return
        run_id = self.waiting_deploy()
        rid = self.pending_request(run_id)["id"]
        for who in ("gina", "hank"):
            assert self.vote(who, rid, self.people[who].code()).status_code == 200
        assert self.wait(run_id)["status"] == "passed"
        self.deployed = True

    def api(self, method: str, path: str, body: Any = None, *, who: str | None = None) -> Any:
        token = self.people[who].token if who else self.admin
        return call(self.server, method, path, token, body)

    def vote(self, who: str, request_id: int, code: str) -> httpx.Response:
        """An approval through the API with ``who``'s token and TOTP ``code``."""
        headers = {"Authorization": f"Bearer {self.people[who].token}"}
        url = f"{self.server.base_url}/api/approvals/{request_id}/approve"
        return httpx.post(url, json={"code": code, "comment": "e2e"}, headers=headers)

    def run(self, run_id: int) -> Any:
        return self.api("GET", f"/api/runs/{run_id}")

    def wait(self, run_id: int, until: frozenset[str] = FINISHED, timeout: float = 180) -> Any:
        """The run once its status is in ``until``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run["status"] in until:
                return run
            time.sleep(0.3)
        raise AssertionError(f"run {run_id} not {sorted(until)}:\n{self.server.stderr()[-4000:]}")

    def pending_request(self, run_id: int, timeout: float = 180) -> Any:
        """The approval request the run's deploy job opened."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listed = self.api("GET", "/api/approvals")["approvals"]
            found = [r for r in listed if r["run_id"] == run_id]
            if found:
                return found[0]
            run = self.run(run_id)
            assert run["status"] not in FINISHED, f"run over before asking approval: {run}"
            time.sleep(0.3)
        raise AssertionError(f"run {run_id} opened no approval request")

    def job_log(self, run_id: int, job: str) -> str:
        """A finished job's log, read through the API's event stream (masked)."""
        headers = {"Authorization": f"Bearer {self.admin}"}
        url = f"{self.server.base_url}/api/runs/{run_id}/jobs/{job}/log"
        response = httpx.get(url, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        # Each event's data is a JSON string (a chunk of the log); the last is the job's state.
        chunks = []
        for block in response.text.split("\n\n"):
            lines = block.splitlines()
            if "event: end" not in lines:
                chunks += [json.loads(ln[6:]) for ln in lines if ln.startswith("data: ")]
        return "".join(str(c) for c in chunks)


def set_up(server: LiveServer, root: Path, pipeline: str = APP_PIPELINE, **extra: str) -> Scene:
    """The scene: admin token, the vault secret, production needing two approvers, and the
    ``app`` repository with ``pipeline`` (and ``extra`` files) on main."""
    scene = Scene(server, open_database(server.database_url), admin_token(server))
    home = Path(server.env["BASTION_HOME"])
    scope = Scope.build(repos=["app"], branches=["main"])
    open_default_vault(home, {}).set("DEPLOY_KEY", DEPLOY_KEY, scope)
    body = {"required_approvals": 2, "allowed_refs": ["refs/heads/main"]}
    scene.api("PUT", "/api/environments/production", body)
    for name in ("alice", "dev", "bob", "carol", "erin", "frank", "gina", "hank"):
        scene.person(name)
    release = "app 1.0 flask six\n"
    files = {
        ".bastion/pipeline.yml": pipeline,
        "mkwheel.py": MKWHEEL,
        "claims.py": CLAIMS,
        "release.txt": release,
        **extra,
    }
    scene.repository("app", root / "app", files)
    return scene
