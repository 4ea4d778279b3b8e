"""monitor: post-deployment findings (the re-scan after ``bastion db update``)

Revision ID: monitor_0002
Revises: monitor_0001
"""

import sqlalchemy as sa
from alembic import op

import bastion.store

revision = "monitor_0002"
down_revision = "monitor_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_deployed_findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("environment", sa.String(length=256), nullable=False),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("ecosystem", sa.String(length=64), nullable=False),
        sa.Column("package", sa.String(length=512), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=False),
        sa.Column("vulnerability", sa.String(length=128), nullable=False),
        sa.Column("aliases", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("fixed_in", sa.String(length=256), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("found_at", bastion.store.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["monitor_alerts.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "environment",
            "digest",
            "ecosystem",
            "package",
            "version",
            "vulnerability",
            name="uq_monitor_deployed_findings",
        ),
    )
    op.create_index(
        op.f("ix_monitor_deployed_findings_digest"), "monitor_deployed_findings", ["digest"]
    )


def downgrade() -> None:
    op.drop_table("monitor_deployed_findings")
