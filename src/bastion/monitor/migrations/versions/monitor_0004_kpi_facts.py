"""monitor: KPI summaries (finished runs, attested digests, approval and deploy events)

Revision ID: monitor_0004
Revises: monitor_0003

Replaces monitor_sbom_components (its counts move to monitor_artifact_facts; they are read
again from the artifact store on the next KPI computation).
"""

import sqlalchemy as sa
from alembic import op

import bastion.store

revision = "monitor_0004"
down_revision = "monitor_0003"
branch_labels = None
depends_on = None

_TIME = bastion.store.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitor_run_facts",
        sa.Column("run_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("repo", sa.String(length=1024), nullable=False),
        sa.Column("pipeline_digest", sa.String(length=80), nullable=False),
        sa.Column("trust", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("gates", sa.Text(), nullable=False),
        sa.Column("scanned", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_monitor_run_facts")),
    )
    op.create_index("ix_monitor_run_facts_created_at", "monitor_run_facts", ["created_at"])
    op.create_index(op.f("ix_monitor_run_facts_repo"), "monitor_run_facts", ["repo"])
    op.create_table(
        "monitor_artifact_facts",
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("repo", sa.String(length=1024), nullable=False),
        sa.Column("first_at", _TIME, nullable=False),
        sa.Column("has_sbom", sa.Integer(), nullable=False),
        sa.Column("components", sa.Integer(), nullable=True),
        sa.Column("complete", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_monitor_artifact_facts")),
    )
    op.create_index(op.f("ix_monitor_artifact_facts_repo"), "monitor_artifact_facts", ["repo"])
    op.create_index(
        op.f("ix_monitor_artifact_facts_first_at"), "monitor_artifact_facts", ["first_at"]
    )
    op.create_table(
        "monitor_audit_facts",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", _TIME, nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=1024), nullable=False),
        sa.Column("environment", sa.String(length=256), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=80), nullable=True),
        sa.Column("artifacts", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_monitor_audit_facts")),
    )
    op.create_index(op.f("ix_monitor_audit_facts_time"), "monitor_audit_facts", ["time"])
    op.create_index(op.f("ix_monitor_audit_facts_action"), "monitor_audit_facts", ["action"])
    op.drop_table("monitor_sbom_components")


def downgrade() -> None:
    op.create_table(
        "monitor_sbom_components",
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("components", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Integer(), nullable=False),
        sa.Column("read_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_monitor_sbom_components")),
    )
    op.drop_table("monitor_audit_facts")
    op.drop_table("monitor_artifact_facts")
    op.drop_table("monitor_run_facts")
