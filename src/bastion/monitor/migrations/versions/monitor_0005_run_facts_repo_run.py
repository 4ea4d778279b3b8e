"""monitor: monitor_run_facts ordered by (repo, run_id), the MTTR window's order

Revision ID: monitor_0005
Revises: monitor_0004
"""

from alembic import op

revision = "monitor_0005"
down_revision = "monitor_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_monitor_run_facts_repo_run_id", "monitor_run_facts", ["repo", "run_id"])


def downgrade() -> None:
    op.drop_index("ix_monitor_run_facts_repo_run_id", table_name="monitor_run_facts")
