"""deploy windows: when each environment may be deployed to

Revision ID: 0011_deploy_windows
Revises: 0010_signed_commits

The column of bastion/server/approval_records.py. The revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_deploy_windows"
down_revision = "0010_signed_commits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Environments configured before have no windows: deployable at any time, as they were.
    with op.batch_alter_table("server_environments") as batch:
        batch.add_column(
            sa.Column("deploy_windows", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("server_environments") as batch:
        batch.drop_column("deploy_windows")
