"""A real GRPOTrainer run on CPU with tiny Qwen2-VL / Qwen2.5-VL models and our rewards.

Each test builds a tiny model (saved, then loaded back with ``from_pretrained``), trains it for
3 GRPO steps on images with ``DetectionReward`` and ``FormatReward``, and checks what a user
would look at: the keyword arguments the rewards got, ``rewards/<name>/mean`` and the component
metrics in the log history, the completions-table columns, and that the weights moved.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")
pytest.importorskip("PIL")
torch = pytest.importorskip("torch")
detection = pytest.importorskip("visual_rewards.rewards.detection")

import _tiny_models as tm  # noqa: E402
from transformers import AutoModelForImageTextToText, AutoProcessor  # noqa: E402

import visual_rewards as vr  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402
from visual_rewards import trl as glue  # noqa: E402

# PIL images meet numpy 2 inside transformers' processor: a third-party warning, not ours
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
TRL_KEYS = {"prompts", "completions", "completion_ids", "trainer_state", "log_extra", "log_metric"}


class Spy:
    """Wraps a reward, records every call's keyword arguments; keeps the reward's name."""

    def __init__(self, reward: vr.Reward) -> None:
        self.reward = reward
        self.calls: list[dict[str, Any]] = []

    @property
    def __name__(self) -> str:
        return self.reward.__name__

    def __call__(self, **kwargs: Any) -> list[float | None]:
        self.calls.append(kwargs)
        return self.reward(**kwargs)


def _dataset(rows: list[dict[str, Any]]) -> Any:
    from datasets import Dataset

    return Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": r["problem"]}],
                "problem": r["problem"],
                "image": r["image"],
                "solution": r["solution"],
            }
            for r in rows
        ]
    )


def _train(
    model_dir: Path, rewards: list[Spy], rows: list[dict[str, Any]], out: Path
) -> tuple[Any, dict[str, Any]]:
    model = AutoModelForImageTextToText.from_pretrained(model_dir)
    processor = AutoProcessor.from_pretrained(model_dir)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    args = GRPOConfig(
        output_dir=str(out),
        max_steps=3,
        per_device_train_batch_size=16,
        num_generations=8,
        max_completion_length=64,
        learning_rate=1e-3,
        beta=0.04,  # > 0: TRL rebuilds the reference model from the saved path
        temperature=1.0,
        logging_steps=1,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        seed=0,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=rewards,
        args=args,
        train_dataset=_dataset(rows),
        processing_class=processor,
    )
    trainer.train()
    return trainer, before


def _check_run(
    trainer: Any, before: dict[str, Any], spies: list[Spy], rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    sizes = {r["image"].size for r in rows}
    solutions = {r["solution"] for r in rows}
    for spy in spies:
        assert len(spy.calls) == 3, spy.__name__  # one generation batch per step
        for kw in spy.calls:
            assert TRL_KEYS | {"solution", "image", "problem"} <= set(kw)
            n = len(kw["completions"])
            assert n == 16 == len(kw["prompts"]) == len(kw["solution"]) == len(kw["image"])
            # conversational completions: [{"role": "assistant", "content": str}]
            assert all(c[0]["role"] == "assistant" for c in kw["completions"])
            assert all(isinstance(c[0]["content"], str) for c in kw["completions"])
            assert set(kw["solution"]) <= solutions
            assert {im.size for im in kw["image"]} <= sizes
            assert callable(kw["log_metric"]) and callable(kw["log_extra"])
    history = trainer.state.log_history
    steps = [h for h in history if "loss" in h]
    assert len(steps) == 3
    for spy in spies:
        name = spy.__name__
        assert all(f"rewards/{name}/mean" in h for h in steps), name
        assert all(f"rewards/{name}/parse_failure_rate" in h for h in steps), name
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p)]
    assert len(changed) > len(before) // 2, f"only {len(changed)} of {len(before)} tensors moved"
    return steps


@pytest.fixture(autouse=True, scope="module")
def _tiny_setup() -> Iterator[None]:
    with tm.tiny_processors(), tm.one_torch_thread():
        yield


@pytest.fixture(scope="module")
def qwen2vl(
    tmp_path_factory: pytest.TempPathFactory, shared_data_or_none: Path | None
) -> tuple[Path, list[dict[str, Any]]]:
    # COCO images from ../shared when present, else generated ones: the test runs either way
    return tm.shared_tiny_model(tmp_path_factory.getbasetemp(), "qwen2vl", shared_data_or_none)


@pytest.fixture(scope="module")
def qwen25vl(
    tmp_path_factory: pytest.TempPathFactory, shared_data_or_none: Path | None
) -> tuple[Path, list[dict[str, Any]]]:
    return tm.shared_tiny_model(tmp_path_factory.getbasetemp(), "qwen25vl", shared_data_or_none)


def test_grpo_qwen2vl_with_detection_and_format_rewards(
    qwen2vl: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    model_dir, rows = qwen2vl
    spies = [Spy(detection.DetectionReward("visual_rft")), Spy(vr.FormatReward("visual_rft"))]
    # TRL's async trainer pickles reward functions: so must the wrapped ones survive it
    assert pickle.loads(pickle.dumps(spies[0].reward)) == spies[0].reward
    trainer, before = _train(model_dir, spies, rows, tmp_path)
    steps = _check_run(trainer, before, spies, rows)
    for comp in ("iou", "confidence", "format"):
        assert all(f"rewards/detection_visual_rft/{comp}/mean" in h for h in steps)
    assert all("rewards/format_visual_rft/format/mean" in h for h in steps)
    # the warm-started model writes right boxes some of the time: the reward really scored them
    assert max(h["rewards/detection_visual_rft/iou/mean"] for h in steps) > 0.1
    # components per completion went to the completions table (log_extra)
    extra = trainer._logs["extra"]
    assert {"detection_visual_rft/iou", "detection_visual_rft/confidence"} <= set(extra)
    assert len(extra["detection_visual_rft/iou"]) == len(trainer._logs["completion"])


def test_grpo_qwen25vl_uses_the_image_size_for_absolute_coordinates(
    qwen25vl: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    model_dir, rows = qwen25vl
    # the model writes pixels of its resized image; the ground truth is in 0-1000
    bounds = {"min_pixels": tm.TINY_MIN_PIXELS, "max_pixels": tm.TINY_MAX_PIXELS}
    reward = detection.DetectionReward("default", coords="qwen25vl", gt_coords="norm1000", **bounds)
    spies = [Spy(reward), Spy(vr.FormatReward())]
    trainer, before = _train(model_dir, spies, rows, tmp_path)
    steps = _check_run(trainer, before, spies, rows)
    # the glue derived each row's (width, height) from the PIL images TRL passed (no file I/O)
    for kw in spies[0].calls:
        sizes = glue.reward_columns(reward.extra_columns, kw)["image_size"]
        assert sizes == [im.size for im in kw["image"]]
    # boxes written in the resized image's pixels were read right: IoU > 0 needs each image's
    # size and the processor's pixel bounds
    assert max(h["rewards/detection_default/iou/mean"] for h in steps) > 0.1
    # control: the same completions read with the wrong pixel bounds (Qwen2.5-VL's defaults,
    # not the tiny processor's) earn less
    wrong = detection.DetectionReward("default", coords="qwen25vl", gt_coords="norm1000")
    right_iou = wrong_iou = 0.0
    for kw in spies[0].calls:
        cols = {"image": kw["image"]}
        right_iou += reward.score(kw["completions"], kw["solution"], **cols).components["iou"].sum()
        wrong_iou += wrong.score(kw["completions"], kw["solution"], **cols).components["iou"].sum()
    assert right_iou > wrong_iou
    assert all("rewards/format_default/format/mean" in h for h in steps)


def test_tiny_model_helper_is_importable_from_tests_only() -> None:
    # guard: the helper lives in tests/, never in the package
    assert Path(tm.__file__).parent.name == "support"
    assert "visual_rewards._tiny_models" not in sys.modules
