"""webhook times: when a repository's webhook was created and its secret last rotated

Revision ID: 0012_webhook_times
Revises: 0011_deploy_windows

Two nullable columns of server_webhooks (bastion/server/webhook_store.py): webhooks made
before have neither, and say so. The revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0012_webhook_times"
down_revision = "0011_deploy_windows"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("server_webhooks") as batch:
        batch.add_column(sa.Column("created_at", _TIME, nullable=True))
        batch.add_column(sa.Column("rotated_at", _TIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("server_webhooks") as batch:
        batch.drop_column("rotated_at")
        batch.drop_column("created_at")
