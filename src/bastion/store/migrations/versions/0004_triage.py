"""triage: suppressions accepted on the server, per repository

Revision ID: 0004_triage
Revises: 0003_server

The table of bastion.server's triage (model in bastion/server/triage.py): a finding the
security role accepted, with owner, reason and expiry, merged with the repository's
``.bastion/suppressions.yml`` when its gates are judged. The revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0004_triage"
down_revision = "0003_server"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "server_suppressions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repository", sa.String(length=1024), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires", sa.Date(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("revoked_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_suppressions")),
    )
    with op.batch_alter_table("server_suppressions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_server_suppressions_repository"), ["repository"], unique=False
        )


def downgrade() -> None:
    op.drop_table("server_suppressions")
