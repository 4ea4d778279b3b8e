"""signed commits: the protected branches of a repository whose commits must be signed

Revision ID: 0010_signed_commits
Revises: 0009_approvals

The column of bastion/server/repositories.py. The revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_signed_commits"
down_revision = "0009_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Repositories registered before keep requiring nothing: an empty list.
    with op.batch_alter_table("server_repositories") as batch:
        batch.add_column(
            sa.Column("signed_branches", sa.JSON(), nullable=False, server_default="[]")
        )


def downgrade() -> None:
    with op.batch_alter_table("server_repositories") as batch:
        batch.drop_column("signed_branches")
