"""The reward server's settings: one frozen dataclass, checked when built (imports no web stack)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

__all__ = ["DEFAULT_EOS_TOKENS", "DEFAULT_IMAGE_TOKENS", "ServeConfig"]

#: End-of-turn tokens stripped from the end of an OpenRLHF ``query`` (it is decoded with
#: ``skip_special_tokens=False``, so the EOS token the model emitted is still in the text).
DEFAULT_EOS_TOKENS: tuple[str, ...] = (
    "<|im_end|>",
    "<|endoftext|>",
    "<|eot_id|>",
    "<end_of_turn>",
    "</s>",
)
#: Image/video placeholders that a VLM processor expands into many tokens: in an OpenRLHF
#: ``query`` the prompt's text after the last of them is verbatim, the part before is not.
DEFAULT_IMAGE_TOKENS: tuple[str, ...] = ("<|image_pad|>", "<|video_pad|>", "<image>", "<video>")


@dataclass(frozen=True)
class ServeConfig:
    """How ``visual-rewards serve`` scores and listens.

    Attributes:
        task: task of items that name none (e.g. ``"detection"``); None: every item must name one.
        preset: reward preset of items that name none.
        options: reward options as ``(key, JSON value)`` pairs, exactly as ``visual-rewards
            score --option`` takes them (``"task.key"`` applies to that task only).
        host: interface to bind; loopback by default (the server has no authentication).
        port: TCP port (0: any free port).
        workers: scoring processes.
        max_body_bytes: larger request bodies are refused with 413 before they are read.
        max_items: more items in one request are refused with 413.
        max_concurrency: more simultaneous connections are answered 503 (uvicorn's limit).
        chunk_items: a request is scored in chunks of this many items, spread over the workers.
        not_applicable_score: the OpenRLHF reward where ours does not apply (a malformed
            ground truth): OpenRLHF needs a number, and NaN would poison the advantages.
        components: also return each component in OpenRLHF's ``extra_logs`` (turn off when
            one run mixes tasks: their component names differ).
        eos_tokens: end-of-turn tokens stripped from the end of an OpenRLHF ``query``.
        image_tokens: placeholders a VLM processor expands (see :data:`DEFAULT_IMAGE_TOKENS`).
        log_level: uvicorn's log level.
    """

    task: str | None = None
    preset: str = "default"
    options: tuple[tuple[str, str], ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    max_body_bytes: int = 16 << 20
    max_items: int = 4096
    max_concurrency: int = 256
    chunk_items: int = 256
    not_applicable_score: float = 0.0
    components: bool = True
    eos_tokens: tuple[str, ...] = DEFAULT_EOS_TOKENS
    image_tokens: tuple[str, ...] = DEFAULT_IMAGE_TOKENS
    log_level: str = "warning"

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in [0, 65535], got {self.port}")
        for name in ("workers", "max_body_bytes", "max_items", "max_concurrency", "chunk_items"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not math.isfinite(self.not_applicable_score):
            raise ValueError(
                f"not_applicable_score must be finite, got {self.not_applicable_score}"
            )
        for key, value in self.options:
            try:
                json.loads(value)
            except ValueError:
                raise ValueError(f"option {key}: value is not JSON: {value!r}") from None
        if any(not t for t in self.eos_tokens + self.image_tokens):
            raise ValueError("eos_tokens and image_tokens must not contain an empty string")
