"""Rewards as TRL reward functions, without trl: calling convention, logging, images, pickling.

The keyword arguments here are the ones ``GRPOTrainer._calculate_rewards`` passes (trl 1.16):
every dataset column, ``trainer_state``, ``log_extra`` and ``log_metric``.
"""

from __future__ import annotations

import math
import pickle
import threading
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pytest

import visual_rewards as vr
from visual_rewards import trl as glue
from visual_rewards.rewards import REWARDS, Reward, RewardResult

GOOD = "<think>a red square</think><answer>[{'Position': [100, 100, 500, 500], 'Confidence': 0.9}]</answer>"
GT = "<answer>[{'Position': [100, 100, 500, 500], 'Confidence': 1}]</answer>"

#: One (completion, solution) pair per task, for the rewards that exist in this version.
SAMPLES: dict[str, tuple[str, Any]] = {
    "format": (GOOD, None),
    "detection": (GOOD, GT),
    "classification": ("<think>petals</think><answer>rose</answer>", "rose"),
    "counting": ("<think>one, two</think><answer>2</answer>", "2"),
    "pointing": ("<think>here</think><answer>(300, 300)</answer>", [100, 100, 500, 500]),
    "grounding": ("<think>it</think><answer>[100, 100, 500, 500]</answer>", [100, 100, 500, 500]),
}


def all_reward_classes() -> dict[str, type[Reward]]:
    classes = dict(REWARDS)
    try:  # registered in REWARDS once the detection reward lands; import it directly until then
        from visual_rewards.rewards.detection import DetectionReward

        classes.setdefault("detection", DetectionReward)
    except ImportError:
        pass
    return classes


def every_reward() -> list[Reward]:
    return [cls(preset) for cls in all_reward_classes().values() for preset in cls.presets]


class Recorder:
    """TRL's log_metric / log_extra, recorded."""

    def __init__(self) -> None:
        self.metrics: dict[str, list[float]] = defaultdict(list)
        self.extra: dict[str, list[Any]] = defaultdict(list)

    def log_metric(self, name: str, value: float) -> None:
        self.metrics[name].append(value)

    def log_extra(self, column: str, values: list[Any]) -> None:
        self.extra[column].extend(values)


def trl_kwargs(n: int, rec: Recorder | None = None, **columns: Any) -> dict[str, Any]:
    """The extra keyword arguments GRPOTrainer passes besides prompts/completions/ids."""
    rec = rec or Recorder()
    return {
        "trainer_state": SimpleNamespace(global_step=3),
        "log_extra": rec.log_extra,
        "log_metric": rec.log_metric,
        **columns,
    }


def conversational(text: str, reasoning: str | None = None) -> list[dict[str, str]]:
    msg = {"role": "assistant", "content": text}
    if reasoning is not None:
        msg["reasoning_content"] = reasoning
    return [msg]


# ---------------------------------------------------------------------------------------------
# Calling convention
# ---------------------------------------------------------------------------------------------


def test_format_reward_with_trl_keywords_and_conversational_completions() -> None:
    rec = Recorder()
    completions = [
        conversational("<think>x</think><answer>y</answer>"),
        conversational("<answer>y</answer>", reasoning="thought about it"),
        conversational("no tags"),
    ]
    prompts = [[{"role": "user", "content": "q"}]] * 3
    out = vr.FormatReward()(
        prompts=prompts,
        completions=completions,
        completion_ids=[[1, 2]] * 3,
        **trl_kwargs(3, rec, solution=["s"] * 3, problem=["q"] * 3),
    )
    assert out == [1.0, 1.0, 0.0]
    assert all(type(v) is float for v in out)
    assert rec.metrics == {
        "rewards/format_default/format/mean": [pytest.approx(2 / 3)],
        "rewards/format_default/parse_failure_rate": [pytest.approx(1 / 3)],
    }
    assert rec.extra == {"format_default/format": [1.0, 1.0, 0.0]}


def test_call_without_trl_logging_functions_logs_nothing_and_works() -> None:
    assert vr.FormatReward()(completions=["<think>x</think><answer>y</answer>"]) == [1.0]


def test_names_are_distinct_and_stable() -> None:
    rewards = every_reward()
    names = [r.__name__ for r in rewards]
    assert len(set(names)) == len(names), names
    assert all(n == f"{r.task}_{r.preset}" for n, r in zip(names, rewards, strict=True))
    assert vr.FormatReward(name="fmt").__name__ == "fmt"
    # TRL names reward functions with getattr(f, "__name__", type(f).__name__)
    assert getattr(vr.FormatReward("visual_rft"), "__name__", None) == "format_visual_rft"


def test_solution_column_is_configurable() -> None:
    cls = all_reward_classes()["classification"]
    reward = cls(solution_column="answer")
    comp, sol = SAMPLES["classification"]
    assert reward(completions=[comp], **trl_kwargs(1, answer=[sol])) == [2.0]
    with pytest.raises(KeyError, match="'answer'"):
        reward(completions=[comp], **trl_kwargs(1, solution=[sol]))


class _NotApplicable(Reward):
    """A reward whose second row is not applicable (NaN) and that records the columns it gets."""

    task: ClassVar[str] = "probe"
    presets: ClassVar[dict[str, vr.FormatConfig]] = {"default": vr.FormatConfig()}
    extra_columns: ClassVar[tuple[str, ...]] = ("image_size",)
    seen: ClassVar[list[dict[str, Any]]] = []

    def score(
        self, completions: Sequence[Any], solutions: Sequence[Any] | None = None, **columns: Any
    ) -> RewardResult:
        type(self).seen.append(columns)
        n = len(completions)
        acc = np.array([1.0, math.nan, 0.0][:n])
        return RewardResult.from_components(
            {"acc": acc}, {"acc": 1.0}, np.array([False, True, True][:n])
        )


def test_none_where_not_applicable_and_nan_left_out_of_metrics() -> None:
    rec = Recorder()
    out = _NotApplicable()(completions=["a", "b", "c"], **trl_kwargs(3, rec, solution=[1, 2, 3]))
    assert out == [1.0, None, 0.0]
    assert rec.metrics["rewards/probe_default/acc/mean"] == [0.5]
    assert rec.metrics["rewards/probe_default/parse_failure_rate"] == [pytest.approx(2 / 3)]
    assert rec.extra["probe_default/acc"] == [1.0, None, 0.0]


def test_all_nan_component_logs_no_metric() -> None:
    rec = Recorder()
    res = RewardResult.from_components({"acc": np.array([math.nan])}, {}, np.array([True]))
    glue.log_result("p", res, {"log_metric": rec.log_metric})
    assert "rewards/p/acc/mean" not in rec.metrics


def test_details_of_a_result_go_to_the_completions_table() -> None:
    res = RewardResult.from_components({"iou": np.array([0.5, 0.0])}, {}, np.zeros(2, bool))
    details = {"boxes": [np.array([[0.1, 0.2, 0.3, 0.4]]), np.zeros((0, 4))], "ious": [[0.5], []]}
    carrier = SimpleNamespace(
        components=res.components, parse_failed=res.parse_failed, details=details
    )
    rec = Recorder()
    glue.log_result("det", carrier, {"log_extra": rec.log_extra})
    assert rec.extra["det/boxes"] == [[[0.1, 0.2, 0.3, 0.4]], []]
    assert rec.extra["det/ious"] == [[0.5], []]
    assert rec.extra["det/iou"] == [0.5, 0.0]


# ---------------------------------------------------------------------------------------------
# Images: the qwen25vl coordinate space takes each row's size from TRL's image column
# ---------------------------------------------------------------------------------------------


def test_image_size_column_is_derived_from_images_without_file_io() -> None:
    _NotApplicable.seen.clear()
    images = [SimpleNamespace(size=(640, 480)), np.zeros((100, 200, 3))]
    _NotApplicable()(completions=["a", "b"], **trl_kwargs(2, image=images, solution=[1, 2]))
    assert _NotApplicable.seen[-1] == {"image_size": [(640, 480), (200, 100)]}
    # an explicit image_size column wins; an unreadable image leaves the column out
    _NotApplicable()(
        completions=["a"], **trl_kwargs(1, image=images[:1], image_size=[(1, 1)], solution=[1])
    )
    assert _NotApplicable.seen[-1] == {"image_size": [(1, 1)]}
    _NotApplicable()(completions=["a"], **trl_kwargs(1, image=["x.jpg"], solution=[1]))
    assert _NotApplicable.seen[-1] == {}


def test_images_column_uses_the_first_image_of_each_row() -> None:
    rows = [[SimpleNamespace(size=(10, 20)), SimpleNamespace(size=(1, 1))], []]
    assert glue.image_sizes({"images": rows}) == [(10, 20), None]


def test_detection_qwen25vl_reads_the_size_from_the_pil_image() -> None:
    image_mod = pytest.importorskip("PIL.Image")
    det = pytest.importorskip("visual_rewards.rewards.detection")
    reward = det.DetectionReward("default", coords="qwen25vl")
    # a 640x480 image is resized to 644x476 by Qwen2.5-VL's processor
    w, h = vr.smart_resize(480, 640)[::-1]
    assert (w, h) == (644, 476)
    gt = {"boxes": [[100, 100, 500, 500]], "coords": "norm1000"}
    box = [round(0.1 * w), round(0.1 * h), round(0.5 * w), round(0.5 * h)]
    comp = f"<think>t</think><answer>[{{'Position': {box}, 'Confidence': 1.0}}]</answer>"
    big = image_mod.new("RGB", (640, 480))
    rec = Recorder()
    out = reward(completions=[comp], **trl_kwargs(1, rec, solution=[gt], image=[big]))
    assert out == [pytest.approx(3.0, abs=0.02)]
    assert rec.metrics["rewards/detection_default/iou/mean"] == [pytest.approx(1.0, abs=0.01)]
    # the same completion on a differently sized image reads as a different (missed) box
    other = image_mod.new("RGB", (1280, 480))
    worse = reward(completions=[comp], **trl_kwargs(1, solution=[gt], image=[other]))
    assert worse[0] is not None and worse[0] < 2.0


# ---------------------------------------------------------------------------------------------
# Pickling and threads (TRL's async trainer pickles reward functions)
# ---------------------------------------------------------------------------------------------


def _call(reward: Reward) -> list[float | None]:
    comp, sol = SAMPLES[reward.task]
    completions = [comp, conversational(comp), "junk"]
    cols: dict[str, Any] = {} if sol is None else {reward.solution_column: [sol] * 3}
    return reward(prompts=["p"] * 3, completions=completions, **trl_kwargs(3, **cols))


@pytest.mark.parametrize("reward", every_reward(), ids=lambda r: r.__name__)
def test_pickle_round_trip(reward: Reward) -> None:
    clone = pickle.loads(pickle.dumps(reward))
    assert clone == reward
    assert type(clone) is type(reward)
    assert clone.__name__ == reward.__name__
    assert hash(clone) == hash(reward)
    if reward.task in SAMPLES:
        assert _call(clone) == _call(reward)


@pytest.mark.parametrize("reward", every_reward(), ids=lambda r: r.__name__)
def test_worker_thread_gives_the_same_result(reward: Reward) -> None:
    if reward.task not in SAMPLES:
        pytest.skip(f"no sample for task {reward.task!r}")
    expected = _call(reward)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: _call(reward), range(4)))
    assert all(r == expected for r in results)
    seen: list[Any] = []
    t = threading.Thread(target=lambda: seen.append(_call(pickle.loads(pickle.dumps(reward)))))
    t.start()
    t.join()
    assert seen == [expected]
