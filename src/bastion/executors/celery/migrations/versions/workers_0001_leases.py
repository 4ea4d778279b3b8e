"""workers: leases and the worker registry

Revision ID: workers_0001
Revises:

The Celery executor's own chain (version table workers_alembic_version); models in
bastion/executors/celery/models.py.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store

revision = "workers_0001"
down_revision = None
branch_labels = None
depends_on = None

_TIME = bastion.store.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker_leases",
        sa.Column("task_id", sa.String(length=256), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=256), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("pool", sa.String(length=16), nullable=False),
        sa.Column("worker", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", _TIME, nullable=False),
        sa.Column("heartbeat_at", _TIME, nullable=False),
        sa.Column("ended_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_worker_leases")),
        sa.UniqueConstraint("run_id", "job", "attempt", name="uq_worker_leases_attempt"),
    )
    op.create_index(op.f("ix_worker_leases_worker"), "worker_leases", ["worker"])
    op.create_index(op.f("ix_worker_leases_state"), "worker_leases", ["state"])
    op.create_table(
        "worker_registry",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("pool", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("first_seen", _TIME, nullable=False),
        sa.Column("last_heartbeat", _TIME, nullable=False),
        sa.Column("changed_by", sa.String(length=256), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_registry")),
    )


def downgrade() -> None:
    op.drop_table("worker_registry")
    op.drop_index(op.f("ix_worker_leases_state"), table_name="worker_leases")
    op.drop_index(op.f("ix_worker_leases_worker"), table_name="worker_leases")
    op.drop_table("worker_leases")
