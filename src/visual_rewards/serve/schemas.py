"""The server's JSON, as pydantic models (request bodies are validated against these).

Two protocols:

* ``POST /score``: :class:`ScoreRequest` -> :class:`ScoreResponse`, the library's own, with
  every component and ``null`` where a reward does not apply.
* ``POST /openrlhf``: :class:`OpenRLHFRequest` -> :class:`OpenRLHFResponse`, OpenRLHF's
  remote reward-model protocol (see :mod:`visual_rewards.serve.app`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

__all__ = [
    "ItemResult",
    "OpenRLHFRequest",
    "OpenRLHFResponse",
    "RewardItem",
    "ScoreRequest",
    "ScoreResponse",
]

_Pixels = Annotated[int, Field(gt=0, le=1 << 20, strict=True)]


class RewardItem(BaseModel):
    """One completion to score.

    >>> RewardItem(completion="<answer>2</answer>", solution="2", task="counting").task
    'counting'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    completion: str | list[dict[str, JsonValue]] = Field(
        description="the model's output: a string, or chat messages [{role, content}]"
    )
    solution: JsonValue = Field(
        default=None, description="the ground truth, as the task's reward reads it"
    )
    task: str | None = Field(default=None, description="the task (default: the server's)")
    preset: str | None = Field(default=None, description="the preset (default: the server's)")
    image_size: tuple[_Pixels, _Pixels] | None = Field(
        default=None, description="[width, height] of the item's image in pixels"
    )

    @field_validator("completion", mode="before")
    @classmethod
    def _completion_shape(cls, value: Any) -> Any:
        if isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(m, dict) for m in value)
        ):
            return value
        raise ValueError("must be a string or a list of chat messages [{role, content}]")


class ScoreRequest(BaseModel):
    """A batch of items (at most the server's ``max_items``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    items: list[RewardItem]


class ItemResult(BaseModel):
    """The score of one item; ``total`` and components are ``null`` where not applicable."""

    reward: str = Field(description="the reward's name, e.g. detection_default")
    total: float | None
    components: dict[str, float | None]
    parse_failed: bool


class ScoreResponse(BaseModel):
    """One result per item, in request order."""

    results: list[ItemResult]


class OpenRLHFRequest(BaseModel):
    """What OpenRLHF POSTs: ``query`` (prompt + response as decoded by the tokenizer), the
    ``prompts`` and the dataset ``labels``, one per query. Other keys are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None

    @field_validator("prompts", "labels")
    @classmethod
    def _same_length(cls, value: list[Any] | None, info: Any) -> list[Any] | None:
        query = info.data.get("query")
        if value is not None and query is not None and len(value) != len(query):
            raise ValueError(
                f"expected {len(query)} {info.field_name} (one per query), got {len(value)}"
            )
        return value


class OpenRLHFResponse(BaseModel):
    """What OpenRLHF reads back: ``rewards`` (for the advantages), ``scores`` (for dynamic
    filtering; equal to ``rewards``, as in OpenRLHF's own ``serve_rm``) and ``extra_logs``
    (per-query values it logs: ``applicable``, ``parse_failed`` and the components)."""

    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]
