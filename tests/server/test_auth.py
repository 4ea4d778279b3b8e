"""Sign-in, sessions, CSRF, throttling, TOTP, step-up and API tokens, in-process."""

from __future__ import annotations

import pytest

from bastion.server import Role, WeakPasswordError
from bastion.server.passwords import check_password_strength, hash_password, verify_password
from tests.server.conftest import PASSWORD, Server


def test_argon2id_hash_verifies_only_the_password() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, PASSWORD)
    assert not verify_password(hashed, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)


@pytest.mark.parametrize(
    "password", ["short1!", "password12345", "Dragon2024!!", "aaaaaaaaaaaaab", "alice-is-great-1"]
)
def test_weak_or_breached_passwords_are_refused(password: str) -> None:
    with pytest.raises(WeakPasswordError):
        check_password_strength(password, "alice")


def test_login_rotates_the_session_and_sets_a_strict_cookie(server: Server) -> None:
    server.add_user("alice")
    server.login("alice")
    first = server.client.cookies.get("bastion_session")
    assert first
    page = server.client.get("/login")
    response = server.client.post(
        "/login",
        data={
            "name": "alice",
            "password": PASSWORD,
            "csrf_token": page.text.split('name="csrf_token" value="')[1].split('"')[0],
        },
        follow_redirects=False,
    )
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "SameSite=strict" in set_cookie
    second = server.client.cookies.get("bastion_session")
    assert second
    assert second != first
    assert server.client.get("/api/me").status_code == 200
    # The id from before this sign-in is dead.
    server.client.cookies.clear()
    server.client.cookies.set("bastion_session", first)
    assert server.client.get("/api/me").status_code == 401
    assert "auth.login" in server.audit.actions()


def test_idle_and_absolute_expiry(server: Server) -> None:
    server.add_user("alice")
    server.login("alice")
    server.clock.advance(minutes=29)
    assert server.client.get("/api/me").status_code == 200
    server.clock.advance(minutes=31)
    assert server.client.get("/api/me").status_code == 401
    server.login("alice")
    for _ in range(26):  # active every 29 minutes: idle never reached, absolute limit is
        server.clock.advance(minutes=29)
        if server.client.get("/api/me").status_code == 401:
            break
    assert server.settings.session_absolute.total_seconds() // 60 <= 26 * 29
    assert server.client.get("/api/me").status_code == 401


def test_state_change_without_csrf_is_refused_and_audited(server: Server) -> None:
    server.add_user("alice")
    server.login("alice")
    response = server.client.post("/api/users", json={"name": "bob"})
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert server.audit.events[-1].action == "request.denied"
    ok = server.client.post(
        "/api/users", json={"name": "bob"}, headers={"X-CSRF-Token": server.csrf()}
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["setup_link"].startswith("http://127.0.0.1:8080/setup/")


def test_login_form_without_its_token_is_refused(server: Server) -> None:
    server.add_user("alice")
    response = server.client.post(
        "/login", data={"name": "alice", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403


def test_throttling_locks_the_account_even_for_the_right_password(server: Server) -> None:
    server.add_user("alice")
    for _ in range(server.settings.account_failures):
        page = server.client.get("/login")
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        wrong = server.client.post(
            "/login", data={"name": "alice", "password": "wrong", "csrf_token": csrf}
        )
        assert wrong.status_code == 401
    page = server.client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    locked = server.client.post(
        "/login", data={"name": "alice", "password": PASSWORD, "csrf_token": csrf}
    )
    assert locked.status_code == 429
    assert [e.outcome for e in server.audit.events if e.action == "auth.login"][-1] == "denied"
    server.clock.advance(minutes=16)
    server.login("alice")


def test_totp_replay_recovery_codes_and_step_up_for_tokens(server: Server) -> None:
    server.add_user("alice")
    server.login("alice")
    totp = server.enrol_totp()
    body = {
        "name": "ci",
        "repositories": ["*"],
        "permissions": ["runs.read"],
        "expires_in_days": 30,
    }
    headers = {"X-CSRF-Token": server.csrf()}
    assert server.client.post("/api/tokens", json=body, headers=headers).status_code == 403
    code = totp.at(server.clock.now)
    stepped = server.client.post("/api/step-up", json={"code": code}, headers=headers)
    assert stepped.status_code == 200, stepped.text
    headers = {"X-CSRF-Token": server.csrf()}  # rotated with the session
    replay = server.client.post("/api/step-up", json={"code": code}, headers=headers)
    assert replay.status_code == 403
    created = server.client.post("/api/tokens", json=body, headers=headers)
    assert created.status_code == 201, created.text
    # Sign in again: second factor by recovery code, which then cannot be used twice.
    server.login("alice")
    assert server.client.get("/api/me").status_code == 401  # second factor still due
    recovery = server.recovery_codes[0]
    page = server.client.get("/mfa")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    ok = server.client.post(
        "/mfa", data={"code": recovery, "csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert server.client.get("/api/me").json()["mfa"] is True
    server.login("alice")
    page = server.client.get("/mfa")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    again = server.client.post("/mfa", data={"code": recovery, "csrf_token": csrf})
    assert again.status_code == 400


def test_token_scope_expiry_revocation_and_last_use(server: Server) -> None:
    server.add_user("alice", Role.VIEWER)
    server.login("alice")
    totp = server.enrol_totp()
    headers = {"X-CSRF-Token": server.csrf()}
    server.client.post("/api/step-up", json={"code": totp.at(server.clock.now)}, headers=headers)
    headers = {"X-CSRF-Token": server.csrf()}
    too_long = {
        "name": "t",
        "repositories": ["*"],
        "permissions": ["runs.read"],
        "expires_in_days": 91,
    }
    assert server.client.post("/api/tokens", json=too_long, headers=headers).status_code == 422
    body = dict(too_long, expires_in_days=1, permissions=["tokens.manage"])
    value = server.client.post("/api/tokens", json=body, headers=headers).json()["token"]
    server.client.cookies.clear()
    bearer = {"Authorization": f"Bearer {value}"}
    assert server.client.get("/api/tokens", headers=bearer).json()[0]["last_used_at"]
    assert server.client.get("/api/runs", headers=bearer).status_code == 404  # out of scope
    server.clock.advance(days=1, seconds=1)
    assert server.client.get("/api/tokens", headers=bearer).status_code == 401
    server.clock.now -= __import__("datetime").timedelta(days=1)
    token_id = server.client.get("/api/tokens", headers=bearer).json()[0]["id"]
    assert server.client.delete(f"/api/tokens/{token_id}", headers=bearer).status_code == 200
    assert server.client.get("/api/tokens", headers=bearer).status_code == 401
