"""Job identity token issuance per second (issue 14 goal: at least 500/s).

    .venv/bin/python -m benchmarks.identity [--tokens 5000]

Mints ES256 tokens with the server's IdentityIssuer (keys in memory) and verifies a sample
with PyJWT, so a fast but wrong signer cannot pass.
"""

from __future__ import annotations

import argparse
import time

import jwt

from bastion.trust import Trust
from bastion.vault import IdentityIssuer, JobIdentity

GOAL = 500.0


def main() -> None:
    """Mint ``--tokens`` tokens; print the rate and whether it meets the goal."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=5000)
    count = parser.parse_args().tokens
    issuer = IdentityIssuer("https://ci.example", lifetime=600)
    job = JobIdentity("acme/api", "refs/heads/main", "c" * 40, Trust.TRUSTED, "prod", 1, "deploy")
    start = time.perf_counter()
    tokens = [issuer.mint(job, audience="sts.amazonaws.com") for _ in range(count)]
    elapsed = time.perf_counter() - start
    key = jwt.PyJWK(issuer.jwks()["keys"][0]).key
    for token in tokens[:: max(1, count // 20)]:
        jwt.decode(token, key, algorithms=["ES256"], audience="sts.amazonaws.com")
    rate = count / elapsed
    verdict = "meets" if rate >= GOAL else "MISSES"
    print(f"{count} tokens in {elapsed:.2f} s: {rate:,.0f} tokens/s ({verdict} {GOAL:.0f}/s)")


if __name__ == "__main__":
    main()
