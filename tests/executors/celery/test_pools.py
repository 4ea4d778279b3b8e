"""Pools, signatures and sealed secrets: a forged or other pool's message is refused."""

from __future__ import annotations

import pytest

from bastion.errors import VaultError
from bastion.executors.celery import (
    ForgedMessage,
    GrantedValues,
    Pool,
    PoolKey,
    open_grant,
    open_message,
    pool_for,
    seal_grant,
    seal_message,
)
from bastion.trust import Trust


def _key(pool: Pool, fill: str = "k") -> PoolKey:
    return PoolKey(pool, (fill * 40).encode())


@pytest.mark.parametrize("trust", list(Trust))
def test_every_trust_has_a_pool(trust: Trust) -> None:
    pool = pool_for(trust)
    assert pool is (Pool.UNTRUSTED if trust is Trust.UNTRUSTED else pool)
    if trust.receives_secrets:
        assert pool is not Pool.UNTRUSTED


def test_signed_message_round_trips() -> None:
    key = _key(Pool.TRUSTED)
    assert open_message(key, seal_message(key, {"type": "job", "n": 1}), "job")["n"] == 1


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m: {**m, "body": m["body"].replace("1", "2")}, "forged"),
        (lambda m: {**m, "sig": "0" * 64}, "forged"),
        (lambda m: {**m, "pool": "untrusted"}, "wrong-pool"),
        (lambda m: "not a message", "malformed"),
    ],
)
def test_altered_message_is_refused(change: object, reason: str) -> None:
    key = _key(Pool.TRUSTED)
    message = seal_message(key, {"type": "job", "n": 1})
    with pytest.raises(ForgedMessage) as caught:
        open_message(key, change(message), "job")  # type: ignore[operator]
    assert caught.value.reason == reason


def test_other_pools_key_is_refused() -> None:
    untrusted = _key(Pool.UNTRUSTED, "u")
    message = seal_message(untrusted, {"type": "job"})
    message["pool"] = "trusted"
    with pytest.raises(ForgedMessage):
        open_message(_key(Pool.TRUSTED, "u"), message, "job")


def test_expired_message_is_refused() -> None:
    key = _key(Pool.TRUSTED)
    with pytest.raises(ForgedMessage) as caught:
        open_message(key, seal_message(key, {"type": "job", "expires_at": 1.0}), "job")
    assert caught.value.reason == "expired"


def test_grant_secrets_open_only_for_their_pool_task_and_worker() -> None:
    key = _key(Pool.TRUSTED, "t")
    sealed = seal_grant(key, "7.abc.1", "w1", {"TOKEN": "v4lue"}, {"id-token": b"a.b.s1g"})
    assert "v4lue" not in sealed
    assert b"v4lue".hex() not in sealed
    granted = open_grant(key, sealed, "7.abc.1", "w1", "build")
    assert granted == GrantedValues({"TOKEN": "v4lue"}, {"id-token": b"a.b.s1g"})
    assert set(granted.masked().values()) == {"v4lue", "a.b.s1g", "s1g"}  # the signature too
    refused = [
        (_key(Pool.UNTRUSTED, "u"), sealed, "7.abc.1", "w1"),  # another pool's worker
        (PoolKey(Pool.TRUSTED, b"x" * 32), sealed, "7.abc.1", "w1"),  # a forged token
        (key, sealed, "7.abc.2", "w1"),  # replayed into another attempt
        (key, sealed, "7.abc.1", "w2"),  # taken by a worker the grant was not for
        (key, sealed[:-2] + ("00" if sealed[-2:] != "00" else "01"), "7.abc.1", "w1"),
        (key, "not hex", "7.abc.1", "w1"),
        (key, None, "7.abc.1", "w1"),
    ]
    for other, text, task_id, worker in refused:
        with pytest.raises(VaultError, match="cannot be read"):
            open_grant(other, text, task_id, worker, "build")


def test_short_token_is_refused() -> None:
    with pytest.raises(Exception, match="shorter"):
        PoolKey(Pool.TRUSTED, b"short")
