"""webhook secret sealed: room for a sealed secret, and plain text marked for sealing

Revision ID: 0014_webhook_secret_sealed
Revises: 0013_record_batches

server_webhooks.secret and signing_key (bastion/server/webhook_store.py) hold
``v1:<base64>`` ciphertext from now on, up to 383 characters for a 256-character secret:
both widen to 512. The plain text already there cannot be sealed here (the key lives
under $BASTION_HOME, not in the database), so it is marked ``v0:`` and the server seals
it when it starts; nothing ever reads a ``v0:`` value as a secret otherwise.

Downgrade removes the mark from what is still plain text. Sealed values stay as they are:
only their key opens them, and a version before this one takes them for a secret no forge
knows, so those repositories' deliveries are refused until set again (fail closed). The
columns stay 512 wide: narrowing would fail on PostgreSQL for a long sealed value. The
revision names no server code.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_webhook_secret_sealed"
down_revision = "0013_record_batches"
branch_labels = None
depends_on = None

_WEBHOOKS = sa.table(
    "server_webhooks", sa.column("secret", sa.String), sa.column("signing_key", sa.String)
)


def upgrade() -> None:
    with op.batch_alter_table("server_webhooks") as batch:
        for name, nullable in (("secret", False), ("signing_key", True)):
            batch.alter_column(
                name,
                existing_type=sa.String(length=256),
                type_=sa.String(length=512),
                existing_nullable=nullable,
            )
    secret, key = _WEBHOOKS.c.secret, _WEBHOOKS.c.signing_key
    op.execute(_WEBHOOKS.update().values(secret=sa.literal("v0:") + secret))
    op.execute(
        _WEBHOOKS.update().where(key.is_not(None)).values(signing_key=sa.literal("v0:") + key)
    )


def downgrade() -> None:
    for column in (_WEBHOOKS.c.secret, _WEBHOOKS.c.signing_key):
        op.execute(
            _WEBHOOKS.update()
            .where(column.startswith("v0:"))
            .values({column.name: sa.func.substr(column, 4)})
        )
