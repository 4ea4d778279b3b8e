"""record batches: the last batch of a run's record the database committed

Revision ID: 0013_record_batches
Revises: 0012_webhook_times

One column of runs (bastion/engine/recorder.py): each batch of a run's changes moves it from
n - 1 to n in the batch's own transaction, so a batch whose commit reached the database but
whose answer was lost (a PostgreSQL restart) is recognised and not written twice. Runs made
before start at 0. The revision names no engine code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_record_batches"
down_revision = "0012_webhook_times"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(
            sa.Column("record_batch", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("record_batch")
