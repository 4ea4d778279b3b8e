"""monitor: per-artifact SBOM component summary (the SBOM-completeness KPI)

Revision ID: monitor_0003
Revises: monitor_0002
"""

import sqlalchemy as sa
from alembic import op

import bastion.store

revision = "monitor_0003"
down_revision = "monitor_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monitor_sbom_components",
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("components", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Integer(), nullable=False),
        sa.Column("read_at", bastion.store.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_monitor_sbom_components")),
    )


def downgrade() -> None:
    op.drop_table("monitor_sbom_components")
