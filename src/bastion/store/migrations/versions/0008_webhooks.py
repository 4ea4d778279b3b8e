"""webhooks: forge webhook settings per repository and the delivery records (replay cache)

Revision ID: 0008_webhooks
Revises: 0007_repositories

The tables of bastion/server/webhook_store.py: server_webhooks (repository, forge, secret,
GitLab signing key, clone URL) and server_webhook_deliveries (forge and delivery id, unique:
a replayed delivery is refused while its record lives; status, reason, run, expiry). The
revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0008_webhooks"
down_revision = "0007_repositories"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "server_webhooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("repo", sa.String(length=128), nullable=False),
        sa.Column("forge", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.String(length=256), nullable=False),
        sa.Column("signing_key", sa.String(length=256), nullable=True),
        sa.Column("clone_url", sa.String(length=2048), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_webhooks")),
        sa.UniqueConstraint("repo", name=op.f("uq_server_webhooks_repo")),
    )
    op.create_table(
        "server_webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("forge", sa.String(length=16), nullable=False),
        sa.Column("delivery", sa.String(length=128), nullable=False),
        sa.Column("repo", sa.String(length=128), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1024), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_webhook_deliveries")),
        sa.UniqueConstraint("forge", "delivery", name=op.f("uq_server_webhook_deliveries_forge")),
    )
    op.create_index(
        op.f("ix_server_webhook_deliveries_expires_at"),
        "server_webhook_deliveries",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_server_webhook_deliveries_expires_at"), table_name="server_webhook_deliveries"
    )
    op.drop_table("server_webhook_deliveries")
    op.drop_table("server_webhooks")
