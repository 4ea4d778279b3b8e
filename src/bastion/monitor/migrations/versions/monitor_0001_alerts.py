"""monitor: alerts, learned baseline, evaluator cursor, delivery outbox

Revision ID: monitor_0001
Revises:

The monitor's own chain (version table monitor_alembic_version); models in
bastion/monitor/models.py.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store

revision = "monitor_0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = bastion.store.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("repo", sa.String(length=1024), nullable=True),
        sa.Column("first_seq", sa.BigInteger(), nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("handled_by", sa.String(length=256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_alerts")),
    )
    op.create_index("ix_monitor_alerts_rule_key_state", "monitor_alerts", ["rule", "key", "state"])
    op.create_index(op.f("ix_monitor_alerts_state"), "monitor_alerts", ["state"])
    op.create_table(
        "monitor_baseline",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=1024), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        sa.Column("learned_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_monitor_baseline")),
    )
    op.create_table(
        "monitor_cursor",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_monitor_cursor")),
    )
    op.create_table(
        "monitor_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _TIME, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["monitor_alerts.id"],
            name=op.f("fk_monitor_deliveries_alert_id_monitor_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitor_deliveries")),
    )
    op.create_index(op.f("ix_monitor_deliveries_alert_id"), "monitor_deliveries", ["alert_id"])
    op.create_index(op.f("ix_monitor_deliveries_state"), "monitor_deliveries", ["state"])


def downgrade() -> None:
    op.drop_table("monitor_deliveries")
    op.drop_table("monitor_cursor")
    op.drop_table("monitor_baseline")
    op.drop_table("monitor_alerts")
