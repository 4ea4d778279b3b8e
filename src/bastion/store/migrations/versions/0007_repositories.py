"""repositories: local git repositories the server runs

Revision ID: 0007_repositories
Revises: 0006_findings

The table of bastion.server's registered repositories (model in
bastion/server/repositories.py): name, path, default and protected branches, who added it,
its poll interval and the branch heads last seen. The revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0007_repositories"
down_revision = "0006_findings"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "server_repositories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("default_branch", sa.String(length=255), nullable=False),
        sa.Column("protected_branches", sa.JSON(), nullable=False),
        sa.Column("added_by", sa.String(length=128), nullable=False),
        sa.Column("poll_seconds", sa.Integer(), nullable=False),
        sa.Column("heads", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_repositories")),
        sa.UniqueConstraint("name", name=op.f("uq_server_repositories_name")),
    )


def downgrade() -> None:
    op.drop_table("server_repositories")
