"""Open what ``bastion serve`` and ``bastion users`` need: the database (migrated), the
audit log signed with the key under ``$BASTION_HOME``, and the services bundle (with the
vault, artifact store and trusted keys of the same home)."""

from __future__ import annotations

import os

from bastion.audit import open_local_log
from bastion.home import ensure_bastion_home
from bastion.server.auditing import LogAuditSink
from bastion.server.context import ServerServices
from bastion.server.resources import ResourceServices
from bastion.store import open_database
from bastion.supplychain import LocalBlobStore, TrustedKeys
from bastion.vault import open_default_vault

__all__ = ["open_services"]


def open_services(database_url: str) -> ServerServices:
    """Services over ``database_url`` (migrated on open; StoreError if that fails)."""
    home = ensure_bastion_home()
    db = open_database(database_url)
    log, _created = open_local_log(db, home)
    resources = ResourceServices(
        audit_log=log,
        vault=open_default_vault(home, os.environ),
        artifacts=LocalBlobStore(home / "artifacts"),
        trusted_keys=TrustedKeys(home),
    )
    return ServerServices(db, LogAuditSink(log), resources=resources)
