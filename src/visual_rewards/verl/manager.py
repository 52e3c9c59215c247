"""The ``visual_rewards`` reward manager of veRL's reward loop (imports veRL).

veRL's reward loop calls ``await manager.run_single(data)`` once per sample, many at a time
(``RewardLoopWorker.compute_score_batch`` starts one task per sample; in streaming mode
every finished rollout arrives on its own). This manager decodes each response as veRL's
``naive`` manager does, then *coalesces* the concurrent calls: samples wait in a queue until
``max_batch_size`` of them are there or ``max_wait_ms`` has passed since the first one, and
the queue is scored with one vectorised :meth:`~visual_rewards.rewards.Reward.score` call
per task, in a worker thread so that the event loop keeps accepting samples.

Importing this module registers the manager under the name ``visual_rewards``
(idempotently). Ray workers import it through the ``verl.plugins`` entry point that
``import verl`` loads, so ``reward.reward_manager.name=visual_rewards`` resolves everywhere;
``reward.reward_manager.source=importlib`` with
``reward.reward_manager.module.path=pkg://visual_rewards.verl.manager`` and
``reward.reward_manager.name=VisualRewardsManager`` works too.

Options come from ``reward.reward_kwargs`` (see :class:`visual_rewards.verl.RewardOptions`)
plus two of the manager's own: ``max_batch_size`` (default 256) and ``max_wait_ms``
(default 20).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from verl.experimental.reward_loop.reward_manager import registry
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
from verl.utils.reward_score import default_compute_score

from visual_rewards.verl import MANAGER_NAME
from visual_rewards.verl.compute import RewardOptions, Scored, ScoreItem, score_items

__all__ = ["MANAGER_NAME", "CoalescerStats", "VisualRewardsManager", "register_manager"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BATCH_SIZE = 256
DEFAULT_MAX_WAIT_MS = 20.0


@dataclass
class CoalescerStats:
    """Counters of one manager: samples seen, queue flushes, vectorised reward calls."""

    samples: int = 0
    flushes: int = 0
    reward_calls: int = 0


class _Coalescer:
    """Collects concurrent samples on the running event loop and scores them in batches."""

    def __init__(self, options: RewardOptions, max_batch_size: int, max_wait_s: float) -> None:
        self.options = options
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.stats = CoalescerStats()
        self._pending: list[tuple[ScoreItem, asyncio.Future[dict[str, float]]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, item: ScoreItem) -> dict[str, float]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, float]] = loop.create_future()
        self._pending.append((item, future))
        self.stats.samples += 1
        if len(self._pending) >= self.max_batch_size:
            self._flush(loop)
        elif self._timer is None:
            self._timer = loop.call_later(self.max_wait_s, self._flush, loop)
        return await future

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if batch:
            task = loop.create_task(self._score(loop, batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _score(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[ScoreItem, asyncio.Future[dict[str, float]]]],
    ) -> None:
        items = [item for item, _ in batch]
        self.stats.flushes += 1
        try:
            scored: Scored = await loop.run_in_executor(None, score_items, items, self.options)
        except Exception as exc:  # a caller error (bad config or dataset): every waiter sees it
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.stats.reward_calls += scored.reward_calls
        for (_, future), row in zip(batch, scored.rows, strict=True):
            if not future.done():
                future.set_result(row)


def _positive(value: Any, name: str, kind: type) -> Any:
    try:
        converted = kind(value)
    except (TypeError, ValueError):
        converted = None
    if converted is None or converted <= 0:
        raise ValueError(f"reward.reward_kwargs.{name} must be a positive number, got {value!r}")
    return converted


class VisualRewardsManager(RewardManagerBase):  # type: ignore[misc]
    """veRL reward manager that scores with visual-rewards in vectorised batches.

    Args:
        config: the trainer's config; reads ``config.reward.reward_kwargs``.
        tokenizer: the policy's tokenizer (responses are decoded with special tokens skipped).
        compute_score: what veRL passes; must be veRL's default (this manager scores with
            visual-rewards itself), so ``reward.custom_reward_function.path`` must be unset.
        reward_router_address, reward_model_tokenizer: accepted for veRL's calling
            convention; unused (no reward model is involved).
    """

    def __init__(
        self,
        config: Any,
        tokenizer: Any,
        compute_score: Any = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer: Any = None,
    ) -> None:
        super().__init__(config, tokenizer, compute_score)
        if compute_score is not None and compute_score is not default_compute_score:
            raise ValueError(
                "the visual_rewards reward manager scores with visual-rewards itself: unset "
                "reward.custom_reward_function.path, or use reward.reward_manager.name=naive with "
                "reward.custom_reward_function.path=pkg://visual_rewards.verl and name=compute_score"
            )
        reward_cfg = config.get("reward") or {}
        kwargs = dict((reward_cfg.get("reward_kwargs") or {}).items())
        max_batch = _positive(
            kwargs.pop("max_batch_size", DEFAULT_MAX_BATCH_SIZE), "max_batch_size", int
        )
        max_wait_ms = _positive(
            kwargs.pop("max_wait_ms", DEFAULT_MAX_WAIT_MS), "max_wait_ms", float
        )
        self.options = RewardOptions.from_kwargs(kwargs)
        self.reward_router_address = reward_router_address
        self.reward_model_tokenizer = reward_model_tokenizer
        self._coalescer = _Coalescer(self.options, max_batch, max_wait_ms / 1000.0)

    @property
    def stats(self) -> CoalescerStats:
        """Counters: samples seen, queue flushes, vectorised reward calls."""
        return self._coalescer.stats

    def decode(self, data: Any) -> ScoreItem:
        """The last sequence of ``data`` (a one-sample ``DataProto``) as a :class:`ScoreItem`.

        The response is cut at its valid length (``attention_mask`` over the response part)
        and decoded with special tokens skipped, as veRL's ``naive`` manager does.
        """
        item = data[-1:][0]
        response_ids = item.batch["responses"]
        response_length = response_ids.shape[-1]
        valid_length = int(item.batch["attention_mask"][-response_length:].sum())
        text = self.tokenizer.decode(response_ids[:valid_length], skip_special_tokens=True)
        non_tensor = item.non_tensor_batch
        reward_model = non_tensor.get("reward_model") or {}
        extra_info = non_tensor.get("extra_info")
        return ScoreItem(
            data_source=non_tensor.get("data_source"),
            completion=text,
            ground_truth=reward_model.get("ground_truth"),
            extra_info=dict(extra_info) if isinstance(extra_info, Mapping) else None,
        )

    async def run_single(self, data: Any) -> dict[str, Any]:
        """Score one sample (coalesced with concurrent calls) -> veRL's result dict."""
        row = await self._coalescer.submit(self.decode(data))
        return {"reward_score": row["score"], "reward_extra_info": dict(row)}


def register_manager() -> type[VisualRewardsManager]:
    """Register :class:`VisualRewardsManager` as ``visual_rewards`` (idempotent).

    veRL's ``register`` raises when a name is taken by another class; this keeps whatever
    holds the name already (e.g. the same class imported twice from a file path) instead.
    """
    existing = registry.REWARD_MANAGER.get(MANAGER_NAME)
    if existing is None:
        registry.register(MANAGER_NAME)(VisualRewardsManager)
    elif existing is not VisualRewardsManager:
        logger.debug("reward manager %r already registered as %r", MANAGER_NAME, existing)
    return VisualRewardsManager


register_manager()
