"""attestations: each artifact a run's jobs attested, on the run record

Revision ID: 0005_attestations
Revises: 0004_triage

One row per attested artifact (model AttestationRecord in bastion/store/models.py): digest,
name, size, media type, where its SBOMs and provenance sit in the artifact store, the
signing key id or why it is unsigned, and whether an earlier build reproduced it.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0005_attestations"
down_revision = "0004_triage"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "attestations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("job", sa.String(length=256), nullable=False),
        sa.Column("repo", sa.String(length=1024), nullable=False),
        sa.Column("commit", sa.String(length=64), nullable=True),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=256), nullable=False),
        sa.Column("bundle", sa.String(length=128), nullable=False),
        sa.Column("cyclonedx_ref", sa.String(length=2048), nullable=False),
        sa.Column("spdx_ref", sa.String(length=2048), nullable=False),
        sa.Column("provenance_ref", sa.String(length=2048), nullable=False),
        sa.Column("signed_by", sa.String(length=256), nullable=True),
        sa.Column("unsigned_reason", sa.Text(), nullable=True),
        sa.Column("reproducible", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_attestations_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attestations")),
    )
    with op.batch_alter_table("attestations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attestations_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attestations_digest"), ["digest"], unique=False)
        batch_op.create_index(
            "ix_attestations_repo_job_commit", ["repo", "job", "commit"], unique=False
        )


def downgrade() -> None:
    op.drop_table("attestations")
