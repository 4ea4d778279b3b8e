"""``bastion runs list|show|trigger --server URL`` (issue 13) against a real ``bastion serve``,
and the client's error translation at the transport (5xx, no JSON, no token)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bastion.cli.runs_remote import RemoteRuns, read_token, run_fields
from bastion.errors import RemoteError, RemoteRefusedError, UsageError
from bastion.server import Accounts, Permission, Role, ServerSettings
from bastion.server.clock import system_clock
from bastion.server.principal import TokenScope
from bastion.server.tokens import ApiTokens
from bastion.store import open_database
from tests.server.browser import LiveServer, free_port, live_server
from tests.server.live_api import admin_token, call, wait_for_run, work_tree
from tests.support import run_bastion


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(tmp_path_factory.mktemp("serve")) as server:
        yield server


@pytest.fixture(scope="module")
def tokens(running: LiveServer) -> dict[str, str]:
    """Tokens by who holds them: none valid, a viewer's, the first admin's."""
    return {
        "nobody": "bst_not-a-token",
        "viewer": viewer_token(running),
        "admin": admin_token(running),
    }


def viewer_token(server: LiveServer) -> str:
    """A token of a new viewer: it may read runs, not start them."""
    db = open_database(server.database_url)
    try:
        settings = ServerSettings("127.0.0.1", 8080, server.database_url)
        viewer, _setup = Accounts(db, settings, system_clock).add("viewer", Role.VIEWER)
        scope = TokenScope(frozenset({"*"}), frozenset(Permission))
        _info, value = ApiTokens(db, settings, system_clock).create(viewer.id, "cli", scope, 1)
        return value
    finally:
        db.dispose()


def offline_env(**extra: str) -> dict[str, str]:
    """This environment without a server or token of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("BASTION_TOKEN", "BASTION_SERVER")}
    return {**env, **extra}


def remote(server: LiveServer, token: str, *args: str) -> tuple[int, str, str]:
    """``bastion runs ARGS --server URL`` with ``BASTION_TOKEN``: exit code, stdout, stderr."""
    env = dict(server.env, BASTION_TOKEN=token)
    done = run_bastion("runs", *args, "--server", server.base_url, env=env)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.integration
def test_trigger_list_and_show_go_through_the_api(running: LiveServer, tmp_path: Path) -> None:
    token = admin_token(running)
    repo = work_tree(tmp_path / "app")
    call(running, "POST", "/api/repositories", token, {"name": "app", "path": str(repo)})

    code, out, err = remote(running, token, "trigger", "app", "--branch", "main", "--json")
    assert code == 0, err
    run_id = json.loads(out)["id"]
    assert json.loads(out)["status"] == "queued"
    wait_for_run(running, token, run_id)

    code, out, err = remote(running, token, "list", "--json")
    assert code == 0, err
    listed = {run["id"]: run for run in json.loads(out)}
    assert listed[run_id]["status"] == "passed"
    assert listed[run_id]["repo"] == "app"
    assert listed[run_id]["duration_seconds"] >= 0

    code, out, err = remote(running, token, "list")
    assert code == 0, err
    assert str(run_id) in out
    assert "passed" in out

    code, out, err = remote(running, token, "show", str(run_id), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["pipeline"].startswith(".bastion/pipeline.yml")
    assert [(j["name"], j["status"]) for j in shown["jobs"]] == [("hello", "passed")]
    assert shown["jobs"][0]["steps"] == [
        {"index": 0, "name": "talk", "status": "passed", "exit_code": 0}
    ]

    code, out, err = remote(running, token, "show", str(run_id))
    assert code == 0, err
    assert "hello" in out
    assert "talk=0" in out


@pytest.mark.integration
def test_the_token_can_come_from_a_file(running: LiveServer, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(admin_token(running) + "\n")
    done = run_bastion(
        "runs",
        "list",
        "--server",
        running.base_url,
        "--token-file",
        str(token_file),
        env=offline_env(),
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.integration
@pytest.mark.parametrize(
    ("who", "args", "status"),
    [
        ("nobody", ("list",), "401"),
        ("viewer", ("trigger", "app"), "403"),
        ("admin", ("show", "999999"), "404"),
        ("admin", ("trigger", "no-such-repo"), "404"),
    ],
)
def test_a_refusal_is_one_line_and_exit_2(
    running: LiveServer, tokens: dict[str, str], who: str, args: tuple[str, ...], status: str
) -> None:
    code, out, err = remote(running, tokens[who], *args)
    assert code == 2, (out, err)
    assert out == ""
    assert err.startswith(f"error: {status}:"), err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_server_not_listening_is_exit_3() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = run_bastion("runs", "list", "--server", url, env=offline_env(BASTION_TOKEN="t"))
    assert done.returncode == 3, done.stderr
    assert f"cannot reach {url}" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_token_is_a_usage_error() -> None:
    done = run_bastion("runs", "list", "--server", "http://127.0.0.1:1", env=offline_env())
    assert done.returncode == 2
    assert "BASTION_TOKEN" in done.stderr


def test_trigger_without_a_server_is_a_usage_error() -> None:
    done = run_bastion("runs", "trigger", "app", env=offline_env())
    assert done.returncode == 2
    assert "--server" in done.stderr


def client(transport: httpx.MockTransport) -> RemoteRuns:
    return RemoteRuns(httpx.Client(base_url="http://bastion.test", transport=transport))


def test_a_5xx_is_a_remote_error_exit_3() -> None:
    problem = {"status": 503, "detail": "the database is unavailable"}
    transport = httpx.MockTransport(lambda _request: httpx.Response(503, json=problem))
    with pytest.raises(RemoteError) as raised:
        client(transport).list_runs(5)
    assert not isinstance(raised.value, RemoteRefusedError)
    assert raised.value.exit_code == 3
    assert "503 the database is unavailable" in raised.value.message


def test_an_answer_without_json_is_a_remote_error() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, text="<html>"))
    with pytest.raises(RemoteError, match="no JSON"):
        client(transport).get_run(1)


def test_a_refusal_without_a_problem_body_uses_the_reason_phrase() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(403, text="nope"))
    with pytest.raises(RemoteRefusedError, match="403: Forbidden") as raised:
        client(transport).trigger("app", None, None)
    assert raised.value.exit_code == 2


def test_the_token_is_sent_as_a_bearer(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"runs": [], "limit": 5, "next_cursor": None})

    monkeypatch.setenv("BASTION_TOKEN", "bst_abc")
    runs = RemoteRuns.connect(
        "http://bastion.test", token_file=None, transport=httpx.MockTransport(answer)
    )
    assert runs.list_runs(5) == []
    assert seen == ["Bearer bst_abc"]


@pytest.mark.parametrize("server", ["ftp://host", "127.0.0.1:8080", "http://"])
def test_a_server_that_is_not_an_http_url_is_a_usage_error(server: str) -> None:
    with pytest.raises(UsageError, match="not an http"):
        RemoteRuns.connect(server, token_file=None)


def test_read_token_prefers_the_file_and_refuses_empty_ones(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("from-file\nignored\n")
    assert read_token(token_file, {"BASTION_TOKEN": "from-env"}) == "from-file"
    assert read_token(None, {"BASTION_TOKEN": " from-env\n"}) == "from-env"
    token_file.write_text("\n")
    with pytest.raises(UsageError, match="is empty"):
        read_token(token_file, {})
    with pytest.raises(UsageError, match="cannot read"):
        read_token(tmp_path / "missing", {})
    with pytest.raises(UsageError, match="needs an API token"):
        read_token(None, {})


def test_run_fields_match_the_local_shape() -> None:
    run = {
        "id": 7,
        "repo": "app",
        "commit": "c" * 40,
        "ref": "refs/heads/main",
        "event": "manual",
        "trust": "trusted",
        "status": "passed",
        "reason": None,
        "created_at": "2030-01-01T12:00:00Z",
        "started_at": "2030-01-01T12:00:01Z",
        "finished_at": "2030-01-01T12:00:03.5Z",
    }
    fields = run_fields(run)
    assert fields["pipeline"] == "-"
    assert fields["duration_seconds"] == 2.5
    assert "duration_seconds" not in run_fields({**run, "finished_at": None})
