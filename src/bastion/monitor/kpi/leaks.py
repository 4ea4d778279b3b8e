"""Secret-leak incidents per month.

An incident is a secret the secrets gate found in a repository: one per (repository,
fingerprint) of an unsuppressed ``findings`` row of gate ``secrets``, counted in the month
(UTC, ``YYYY-MM``) of the first finished run that carried it. A secret found again later
is the same incident; the same secret in two repositories is two. Months are those of the
first detection, so ``--since`` counts incidents first seen in the period.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import func, select

from bastion.store import Database, FindingRecord, RunRecord

__all__ = ["SECRETS_GATE", "secret_leaks"]

SECRETS_GATE = "secrets"


def secret_leaks(
    db: Database, statuses: tuple[str, ...], since: datetime | None, repo: str | None
) -> dict[str, int]:
    """Incidents per month, oldest month first."""
    f, r = FindingRecord, RunRecord
    query = (
        select(func.min(r.created_at))
        .select_from(f)
        .join(r, r.id == f.run_id)
        .where(f.gate == SECRETS_GATE, f.suppressed.is_(False), r.status.in_(statuses))
        .group_by(r.repo, f.fingerprint)
    )
    if repo is not None:
        query = query.where(r.repo == repo)
    with db.session() as session:
        firsts = [at for at in session.scalars(query) if since is None or at >= since]
    months = Counter(at.strftime("%Y-%m") for at in firsts)
    return dict(sorted(months.items()))
