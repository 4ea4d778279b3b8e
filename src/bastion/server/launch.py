"""Open what ``bastion serve`` and ``bastion users`` need: the database (migrated), the
audit log signed with the key under ``$BASTION_HOME``, and the services bundle."""

from __future__ import annotations

from bastion.audit import open_local_log
from bastion.home import ensure_bastion_home
from bastion.server.auditing import LogAuditSink
from bastion.server.context import ServerServices
from bastion.store import open_database

__all__ = ["open_services"]


def open_services(database_url: str) -> ServerServices:
    """Services over ``database_url`` (migrated on open; StoreError if that fails)."""
    home = ensure_bastion_home()
    db = open_database(database_url)
    log, _created = open_local_log(db, home)
    return ServerServices(db, LogAuditSink(log))
