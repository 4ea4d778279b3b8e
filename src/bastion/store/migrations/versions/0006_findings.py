"""findings: every finding a run's gate jobs were judged on

Revision ID: 0006_findings
Revises: 0005_attestations

One row per finding of a gate job (model: bastion.store.FindingRecord), suppressed ones
too, written by the engine's recorder when the job ends. Plain columns, no JSON: the
server's findings page and ``bastion runs show ID --findings`` read them as they are.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_findings"
down_revision = "0005_attestations"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "findings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=256), nullable=False),
        sa.Column("gate", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=512), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("new", sa.Boolean(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("suppressed_by", sa.Text(), nullable=True),
        sa.Column("suppressed_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_findings_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
    )
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_findings_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_findings_fingerprint"), ["fingerprint"], unique=False)


def downgrade() -> None:
    op.drop_table("findings")
