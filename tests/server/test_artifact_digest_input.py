"""A malformed artifact digest is the caller's mistake (400), never "database unavailable".

Regression: schemathesis found GET /api/artifacts/{digest} answering 503 for any digest that
did not parse, because the digest error derives from StoreError, which the server took for
a database outage.
"""

from __future__ import annotations

import pytest

from tests.server.test_openapi import Seeded, seeded  # noqa: F401

MALFORMED = ["x", "sha256:", "sha256:zz", "%C3%A9", "sha256:" + "a" * 65, "0"]


@pytest.mark.parametrize("digest", MALFORMED)
@pytest.mark.parametrize("suffix", ["", "/verify", "/attestations/b/provenance"])
def test_a_malformed_digest_is_a_bad_request(
    seeded: Seeded,  # noqa: F811
    digest: str,
    suffix: str,
) -> None:
    response = seeded.client.get(f"/api/artifacts/{digest}{suffix}", headers=seeded.admin.headers())
    assert response.status_code == 400, response.text
    assert "not an artifact digest" in response.json()["detail"]
