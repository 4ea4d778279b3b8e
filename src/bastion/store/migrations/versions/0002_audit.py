"""audit log: moved to the audit package's own chain (a no-op kept for the chain's history)

Revision ID: 0002_audit
Revises: 0001_core

Until issue 21 §2 this revision created the audit tables, so the store imported bastion.audit.
They now belong to bastion.audit, whose own chain (version table ``audit_alembic_version``)
creates them when missing and adopts them when a database made by this revision already has
them. The revision stays, empty, so databases stamped ``0002_audit`` keep a known place in the
store's chain and the revisions after it still have their parent.
"""

revision = "0002_audit"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing: the audit package's chain owns the audit tables."""


def downgrade() -> None:
    """Nothing: the audit tables are dropped, if ever, by the audit package's chain."""
