"""The Celery executor: trust-tiered worker pools, signed JSON task messages, leases.

    >>> from bastion.executors.celery import CeleryConfig, CeleryExecutor, Pool, load_pool_key
    >>> key = load_pool_key(home, Pool.TRUSTED)  # doctest: +SKIP
    >>> config = CeleryConfig("redis://host:6379/0", key)  # doctest: +SKIP
    >>> executor = CeleryExecutor(config, secrets_for={})  # doctest: +SKIP

``bastion worker --pool trusted`` runs the other side (:mod:`.worker`).
"""

from bastion.executors.celery.app import TASK_NAME, make_app
from bastion.executors.celery.executor import (
    WORKER_LOST,
    CeleryConfig,
    CeleryExecutor,
    CeleryJobHandle,
)
from bastion.executors.celery.leases import (
    Claim,
    Grant,
    LeaseInfo,
    LeaseState,
    LeaseStore,
    WorkerInfo,
    WorkerState,
    end_interrupted_leases,
)
from bastion.executors.celery.models import WORKERS_CHAIN
from bastion.executors.celery.pools import TOKEN_ENV, Pool, PoolKey, load_pool_key, pool_for
from bastion.executors.celery.registry import WORKER_ACTIONS, change_worker
from bastion.executors.celery.serve import (
    BrokerUnavailable,
    WorkerOptions,
    check_broker,
    serve_worker,
    worker_name,
)
from bastion.executors.celery.signing import (
    CLOCK_SKEW,
    ForgedMessage,
    GrantedValues,
    open_grant,
    open_message,
    seal_grant,
    seal_message,
)
from bastion.executors.celery.worker import SERVER_TIMEOUT, WorkerRuntime, register_task

__all__ = [
    "CLOCK_SKEW",
    "SERVER_TIMEOUT",
    "TASK_NAME",
    "TOKEN_ENV",
    "WORKERS_CHAIN",
    "WORKER_ACTIONS",
    "WORKER_LOST",
    "BrokerUnavailable",
    "CeleryConfig",
    "CeleryExecutor",
    "CeleryJobHandle",
    "Claim",
    "ForgedMessage",
    "Grant",
    "GrantedValues",
    "LeaseInfo",
    "LeaseState",
    "LeaseStore",
    "Pool",
    "PoolKey",
    "WorkerInfo",
    "WorkerOptions",
    "WorkerRuntime",
    "WorkerState",
    "change_worker",
    "check_broker",
    "end_interrupted_leases",
    "load_pool_key",
    "make_app",
    "open_grant",
    "open_message",
    "pool_for",
    "register_task",
    "seal_grant",
    "seal_message",
    "serve_worker",
    "worker_name",
]
