"""A private broker per test module, Redis and RabbitMQ both (never the machine's own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.executors.celery.brokers import rabbitmq_server, redis_server


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def broker_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    start = redis_server if request.param == "redis" else rabbitmq_server
    with start(tmp_path_factory.mktemp(request.param)) as url:
        yield url
