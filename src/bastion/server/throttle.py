"""Sign-in throttling: per account (lockout) and per address, over a sliding window.

After ``account_failures`` failed attempts on one account within ``throttle_window`` the
account is locked for the rest of the window, even for the right password (so guessing
cannot go on at the throttled rate); after ``address_failures`` from one address, that
address is refused. Attempts are rows, so every server process sharing the database agrees.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select

from bastion.server.clock import Clock
from bastion.server.errors import ThrottledError
from bastion.server.models import LoginAttemptRecord
from bastion.server.settings import ServerSettings
from bastion.store import Database

__all__ = ["LoginThrottle"]


class LoginThrottle:
    """Counts failures and refuses attempts over the limits."""

    def __init__(self, db: Database, settings: ServerSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def check(self, account: str, address: str) -> None:
        """Return if an attempt may be made; ThrottledError (with Retry-After) if not."""
        since = self.clock() - self.settings.throttle_window
        retry = int(self.settings.throttle_window.total_seconds())
        with self.db.session() as session:
            session.execute(delete(LoginAttemptRecord).where(LoginAttemptRecord.at < since))
            for column, value, limit, what in (
                (LoginAttemptRecord.account, account, self.settings.account_failures, "account"),
                (LoginAttemptRecord.address, address, self.settings.address_failures, "address"),
            ):
                failures = session.scalar(
                    select(func.count())
                    .select_from(LoginAttemptRecord)
                    .where(column == value, LoginAttemptRecord.at >= since)
                    .where(LoginAttemptRecord.success.is_(False))
                )
                if (failures or 0) >= limit:
                    raise ThrottledError(
                        f"too many failed sign-ins for this {what}; try again later",
                        retry_after=retry,
                    )

    def record(self, account: str, address: str, *, success: bool) -> None:
        """Remember one attempt; a success clears the account's failures."""
        with self.db.session() as session:
            if success:
                session.execute(
                    delete(LoginAttemptRecord).where(LoginAttemptRecord.account == account)
                )
            session.add(
                LoginAttemptRecord(
                    account=account[:128], address=address[:64], at=self.clock(), success=success
                )
            )
