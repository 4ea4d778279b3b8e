"""server: users, sessions, API tokens, role grants, recovery codes, sign-in attempts

Revision ID: 0003_server
Revises: 0002_audit

The tables of bastion.server (models in bastion/server/models.py). The revision names no
server code, so the store still imports nothing above it.
"""

import sqlalchemy as sa
from alembic import op

import bastion.store.base

revision = "0003_server"
down_revision = "0002_audit"
branch_labels = None
depends_on = None

_TIME = bastion.store.base.UTCDateTime(timezone=True)


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"],
        ["server_users.id"],
        name=op.f(f"fk_{table}_user_id_server_users"),
        ondelete="CASCADE",
    )


def _index_user(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_{table}_user_id"), ["user_id"], unique=False)


def upgrade() -> None:
    op.create_table(
        "server_users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_pending", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("setup_hash", sa.LargeBinary(length=32), nullable=True),
        sa.Column("setup_expires_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_users")),
        sa.UniqueConstraint("name", name=op.f("uq_server_users_name")),
        sa.UniqueConstraint("setup_hash", name=op.f("uq_server_users_setup_hash")),
    )
    op.create_table(
        "server_sessions",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_seen_at", _TIME, nullable=False),
        sa.Column("mfa_pending", sa.Boolean(), nullable=False),
        sa.Column("stepped_up_at", _TIME, nullable=True),
        _user_fk("server_sessions"),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_server_sessions")),
    )
    _index_user("server_sessions")
    op.create_table(
        "server_api_tokens",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.Column("last_used_at", _TIME, nullable=True),
        sa.Column("revoked_at", _TIME, nullable=True),
        _user_fk("server_api_tokens"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_server_api_tokens_token_hash")),
    )
    _index_user("server_api_tokens")
    op.create_table(
        "server_grants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_name", sa.String(length=1024), nullable=False),
        _user_fk("server_grants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_grants")),
    )
    _index_user("server_grants")
    op.create_table(
        "server_recovery_codes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("used_at", _TIME, nullable=True),
        _user_fk("server_recovery_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_recovery_codes")),
    )
    _index_user("server_recovery_codes")
    op.create_table(
        "server_login_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_login_attempts")),
    )
    with op.batch_alter_table("server_login_attempts", schema=None) as batch_op:
        for column in ("account", "address", "at"):
            batch_op.create_index(
                batch_op.f(f"ix_server_login_attempts_{column}"), [column], unique=False
            )


def downgrade() -> None:
    for table in (
        "server_login_attempts",
        "server_recovery_codes",
        "server_grants",
        "server_api_tokens",
        "server_sessions",
        "server_users",
    ):
        op.drop_table(table)
