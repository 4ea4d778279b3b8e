"""Request and response bodies of the webhook endpoint and of a repository's webhook
settings."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bastion.server.webhook_signatures import Forge

__all__ = ["DeliveryOut", "WebhookBody", "WebhookOut"]


class DeliveryOut(BaseModel):
    """How a delivery ended: ``queued`` with its run, or ``ignored``."""

    model_config = ConfigDict(extra="forbid")

    delivery: str
    status: str
    run: int | None = None


class WebhookBody(BaseModel):
    """``PUT /api/repositories/{repo}/webhook``: the forge, where its commits are fetched,
    the shared secret and, for GitLab's signed webhooks, the signing token. The strength
    rules answer 400 naming the rule (not 422), so the bounds here only cap the size."""

    model_config = ConfigDict(extra="forbid")

    forge: Forge
    clone_url: str = Field(min_length=1, max_length=2048)
    secret: SecretStr = Field(max_length=1024)
    signing_key: SecretStr | None = Field(default=None, max_length=1024)


class WebhookOut(BaseModel):
    """A repository's webhook as it may be shown: whether a secret is set, never the secret;
    the clone URL's user information masked."""

    repo: str
    forge: Forge
    clone_url: str
    secret_set: bool
    signed: bool
    created_at: dt.datetime | None = None  # None: set before these times were kept
    rotated_at: dt.datetime | None = None  # the secret last replaced; None: never
