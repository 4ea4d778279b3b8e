"""Response bodies of the webhook endpoint."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["DeliveryOut"]


class DeliveryOut(BaseModel):
    """How a delivery ended: ``queued`` with its run, or ``ignored``."""

    model_config = ConfigDict(extra="forbid")

    delivery: str
    status: str
    run: int | None = None
