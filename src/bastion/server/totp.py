"""TOTP (RFC 6238) enrolment and checks, recovery codes, QR codes as inline SVG.

A code is accepted once: the time step it matched is stored and any code of that step or an
earlier one is refused afterwards, so a code seen over a shoulder or in a proxy log cannot be
replayed within its window. Ten recovery codes (80 random bits each) are shown once at
enrolment and stored as SHA-256; each works once.
"""

from __future__ import annotations

import io
import secrets

import pyotp
import segno
from sqlalchemy import select

from bastion.server.clock import Clock
from bastion.server.errors import BadRequestError
from bastion.server.models import RecoveryCodeRecord, UserRecord
from bastion.server.secrets_hashing import digest
from bastion.store import Database

__all__ = ["ISSUER", "RECOVERY_CODES", "Enrolment", "Totp"]

ISSUER = "Bastion"
RECOVERY_CODES = 10
_STEP = 30
_WINDOW = 1  # one step either side: clocks drift


class Enrolment:
    """A pending enrolment: the secret, its otpauth URI and QR code (SVG markup)."""

    def __init__(self, account: str, secret: str) -> None:
        self.secret = secret
        self.uri = pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)

    def qr_svg(self) -> str:
        """The URI as an SVG QR code, for inline use (no script, no external resource)."""
        out = io.BytesIO()
        segno.make(self.uri, error="m").save(out, kind="svg", xmldecl=False, svgns=True, scale=5)
        return out.getvalue().decode("utf-8")


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


class Totp:
    """TOTP secrets and recovery codes of the user table."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def begin(self, user_id: int) -> Enrolment:
        """A new pending secret for ``user_id`` (kept until confirmed with a code)."""
        secret = pyotp.random_base32(32)
        with self.db.session() as session:
            row = session.get_one(UserRecord, user_id)
            row.totp_pending = secret
            return Enrolment(row.name, secret)

    def pending(self, user_id: int) -> Enrolment | None:
        """The enrolment started and not yet confirmed."""
        with self.db.session() as session:
            row = session.get_one(UserRecord, user_id)
            return Enrolment(row.name, row.totp_pending) if row.totp_pending else None

    def confirm(self, user_id: int, code: str) -> list[str]:
        """Activate the pending secret if ``code`` matches; returns the new recovery codes."""
        with self.db.session() as session:
            row = session.get_one(UserRecord, user_id)
            step = self._match(row.totp_pending, code, None) if row.totp_pending else None
            if step is None:
                raise BadRequestError("the code does not match the new secret; try again")
            row.totp_secret, row.totp_pending, row.totp_last_step = row.totp_pending, None, step
            session.query(RecoveryCodeRecord).filter_by(user_id=user_id).delete()
            codes = [secrets.token_hex(10) for _ in range(RECOVERY_CODES)]
            for code_text in codes:
                session.add(RecoveryCodeRecord(user_id=user_id, code_hash=digest(code_text)))
            return [f"{c[:5]}-{c[5:10]}-{c[10:15]}-{c[15:]}" for c in codes]

    def verify(self, user_id: int, code: str) -> bool:
        """True once per time step for a matching code; a replayed step is refused."""
        with self.db.session() as session:
            row = session.get_one(UserRecord, user_id, with_for_update=True)
            if row.totp_secret is None:
                return False
            step = self._match(row.totp_secret, code, row.totp_last_step)
            if step is None:
                return False
            row.totp_last_step = step
            return True

    def use_recovery_code(self, user_id: int, code: str) -> bool:
        """True, and the code spent, if ``code`` is one of the user's unused codes."""
        wanted = digest(_normalise(code))
        with self.db.session() as session:
            row = session.scalar(
                select(RecoveryCodeRecord)
                .where(RecoveryCodeRecord.user_id == user_id)
                .where(RecoveryCodeRecord.code_hash == wanted)
                .where(RecoveryCodeRecord.used_at.is_(None))
                .with_for_update()
            )
            if row is None:
                return False
            row.used_at = self.clock()
            return True

    def _match(self, secret: str, code: str, last_step: int | None) -> int | None:
        """The time step ``code`` belongs to (newer than ``last_step``), or None."""
        code = _normalise(code)
        if not (code.isdigit() and len(code) == 6):
            return None
        totp = pyotp.TOTP(secret, interval=_STEP)
        now_step = int(self.clock().timestamp()) // _STEP
        for step in range(now_step - _WINDOW, now_step + _WINDOW + 1):
            if last_step is not None and step <= last_step:
                continue
            if secrets.compare_digest(totp.at(step * _STEP), code):
                return step
        return None
