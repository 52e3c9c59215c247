"""What the server computes, without the server: batching, OpenRLHF queries and labels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from visual_rewards.rewards import get_reward
from visual_rewards.serve.batch import (
    ItemSpec,
    QueryError,
    openrlhf_completion,
    openrlhf_label,
    reward_for,
    score_batch,
)
from visual_rewards.serve.config import DEFAULT_EOS_TOKENS, DEFAULT_IMAGE_TOKENS, ServeConfig
from visual_rewards.serve.loadtest import expected_results, make_requests

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
CONFIG = ServeConfig()


def test_score_batch_equals_row_by_row_scoring() -> None:
    """The grouped batch path (the server's) equals one ``Reward.score`` call per item."""
    bodies = make_requests(30, items=12, seed=7)
    for body, expected in zip(bodies, expected_results(bodies), strict=True):
        specs = [
            ItemSpec(
                i["completion"],
                i["solution"],
                i["task"],
                None,
                tuple(i["image_size"]) if "image_size" in i else None,
            )
            for i in body["items"]
        ]
        for got, want in zip(score_batch(CONFIG, specs), expected, strict=True):
            assert got.reward == want["reward"]
            assert got.parse_failed == want["parse_failed"]
            assert (None if math.isnan(got.total) else got.total) == want["total"]


def test_reward_for_uses_the_servers_defaults_and_options() -> None:
    config = ServeConfig(
        task="detection", preset="visual_rft", options=(("detection.iou_weight", "0.7"),)
    )
    reward = reward_for(config, None, None)
    assert reward == get_reward("detection", "visual_rft", iou_weight=0.7)
    assert reward_for(config, "format", "default") == get_reward("format")
    assert reward_for(config, "point", "default") == get_reward("pointing")  # a task alias
    with pytest.raises(ValueError, match="has no preset 'visual_rft'"):  # never a silent default
        reward_for(config, "counting", None)
    per_task = ServeConfig(preset="visual_rft", options=(("counting.preset", '"default"'),))
    assert reward_for(per_task, "counting", None) == get_reward("counting")
    assert reward_for(per_task, "counting", "default") == get_reward("counting")
    with pytest.raises(ValueError, match="names no task"):
        reward_for(ServeConfig(), None, None)
    with pytest.raises(ValueError, match="unknown task"):
        reward_for(config, "segmentation", None)


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="<"), max_size=40)
_response = st.builds(lambda a, b: f"<think>{a}</think><answer>{b}</answer>", _text, _text)


@given(
    head=_text,
    tail=_text,
    response=_response,
    expand=st.integers(1, 30),
    token=st.sampled_from(DEFAULT_IMAGE_TOKENS),
    eos=st.sampled_from(("", *DEFAULT_EOS_TOKENS)),
)
def test_openrlhf_completion_is_the_response(
    head: str, tail: str, response: str, expand: int, token: str, eos: str
) -> None:
    """Whatever the processor does to the image placeholder, the completion is the response."""
    prompt = f"{head}{token}{tail}<|im_start|>assistant\n"
    query = prompt.replace(token, token * expand) + response + eos
    assert openrlhf_completion(query, prompt, CONFIG) == response
    assert openrlhf_completion(prompt + response, prompt, CONFIG) == response


def test_openrlhf_completion_without_its_prompt_raises() -> None:
    with pytest.raises(QueryError):
        openrlhf_completion("an unrelated query", "the prompt:", CONFIG)
    assert openrlhf_completion("no prompt given</s>", None, CONFIG) == "no prompt given"


@pytest.mark.parametrize(
    ("label", "want"),
    [
        ("3", ("3", None, None, None)),
        ({"boxes": [[1, 2, 3, 4]]}, ({"boxes": [[1, 2, 3, 4]]}, None, None, None)),
        ('{"solution": "cat", "task": "classification"}', ("cat", "classification", None, None)),
        (
            {"solution": [1], "preset": "visual_rft", "image_size": [4, 3]},
            ([1], None, "visual_rft", (4, 3)),
        ),
        ("{not json", ("{not json", None, None, None)),
    ],
)
def test_openrlhf_label(label: object, want: tuple[object, ...]) -> None:
    assert openrlhf_label(label) == want


@pytest.mark.parametrize(
    ("label", "match"),
    [
        ({"solution": 1, "image_size": [0, 3]}, "image_size"),
        ({"solution": 1, "image_size": [True, 3]}, "image_size"),
        ({"solution": 1, "task": 3}, "task"),
        ({"solution": 1, "colour": 3}, "unknown label field"),
    ],
)
def test_openrlhf_label_errors(label: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        openrlhf_label(label)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"port": 70000}, "port"),
        ({"workers": 0}, "workers"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ({"not_applicable_score": math.nan}, "not_applicable_score"),
        ({"options": (("k", "not json"),)}, "option k"),
        ({"eos_tokens": ("",)}, "empty string"),
    ],
)
def test_config_is_checked(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ServeConfig(**kwargs)  # type: ignore[arg-type]
