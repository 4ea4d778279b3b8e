"""approvals: environments (settings, what is deployed), approval requests and votes

Revision ID: 0009_approvals
Revises: 0008_webhooks

The tables of bastion/server/approval_records.py. The revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0009_approvals"
down_revision = "0008_webhooks"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "server_environments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("allowed_refs", sa.JSON(), nullable=False),
        sa.Column("required_trust", sa.String(length=16), nullable=False),
        sa.Column("wait_timer", sa.Integer(), nullable=False),
        sa.Column("request_timeout", sa.Integer(), nullable=False),
        sa.Column("approval_ttl", sa.Integer(), nullable=False),
        sa.Column("deployed_digest", sa.String(length=80), nullable=True),
        sa.Column("deployed_commit", sa.String(length=64), nullable=True),
        sa.Column("deployed_run", sa.Integer(), nullable=True),
        sa.Column("deployed_components", sa.JSON(), nullable=True),
        sa.Column("deployed_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_environments")),
        sa.UniqueConstraint("name", name=op.f("uq_server_environments_name")),
    )
    op.create_table(
        "server_approval_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=256), nullable=False),
        sa.Column("environment", sa.String(length=128), nullable=False),
        sa.Column("repo", sa.String(length=1024), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("ref", sa.String(length=1024), nullable=True),
        sa.Column("trust", sa.String(length=16), nullable=False),
        sa.Column("triggered_by", sa.String(length=128), nullable=True),
        sa.Column("shipped", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_approval_requests")),
    )
    for column in ("run_id", "environment", "state"):
        op.create_index(
            op.f(f"ix_server_approval_requests_{column}"), "server_approval_requests", [column]
        )
    op.create_table(
        "server_approval_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["server_approval_requests.id"],
            name=op.f("fk_server_approval_votes_request_id_server_approval_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_approval_votes")),
    )
    op.create_index(
        op.f("ix_server_approval_votes_request_id"), "server_approval_votes", ["request_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_server_approval_votes_request_id"), table_name="server_approval_votes")
    op.drop_table("server_approval_votes")
    for column in ("state", "environment", "run_id"):
        op.drop_index(
            op.f(f"ix_server_approval_requests_{column}"), table_name="server_approval_requests"
        )
    op.drop_table("server_approval_requests")
    op.drop_table("server_environments")
