"""Lifting an erasure: someone erased who signed up again of their own will."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from service.schemas.common import RequestBody


class ErasureLiftIn(RequestBody):
    """Someone erased who signed up again of their own will, by the customer id they were erased under, their
    address, or both."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(None, max_length=128, description="the customer id they were erased under")
    email: str | None = Field(None, max_length=320, description="their address, in any case")


class ErasuresLifted(BaseModel):
    lifted: int = Field(
        description="erasures lifted: each holds a customer id and an address; one that either matched is lifted, "
        "with every other id kept for that address"
    )
