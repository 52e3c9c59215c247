"""veRL glue that needs no veRL: compute_score routing, options, batch scoring, parquet rows."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from visual_rewards.rewards import REWARDS, get_reward
from visual_rewards.verl import (
    RewardOptions,
    ScoreItem,
    compute_score,
    score_items,
    task_of,
    verl_rows,
)

GOOD = "<think>petals</think><answer>rose</answer>"


def test_import_stays_light() -> None:
    code = (
        "import sys, visual_rewards, visual_rewards.verl;"
        "bad = [m for m in ('verl', 'torch', 'ray') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_routing_by_extra_info_then_data_source() -> None:
    assert task_of("visual_rewards/format", None) == "format"
    assert task_of("format", {}) == "format"
    assert task_of("coco", {"task": "format"}) == "format"
    # extra_info wins over data_source
    assert task_of("visual_rewards/format", {"task": "classification"}) == "classification"
    assert task_of("anything", None, default="format") == "format"
    with pytest.raises(ValueError, match="cannot tell the task"):
        task_of("gsm8k", None)
    with pytest.raises(ValueError, match="unknown task"):
        task_of("format", {"task": "segmentation"})


@pytest.mark.skipif("pointing" not in REWARDS, reason="PointReward not registered yet")
def test_task_aliases() -> None:
    assert task_of("lvis/points", None) == "pointing"
    assert task_of("x", {"task": "point"}) == "pointing"


def test_compute_score_format_matches_reward() -> None:
    for text in [GOOD, "rose", "<think></think><answer></answer>"]:
        for preset in ["default", "visual_rft"]:
            got = compute_score("visual_rewards/format", text, None, preset=preset)
            want = get_reward("format", preset).score([text])
            assert got["score"] == float(want.total[0])
            assert got["format"] == float(want.components["format"][0])
            assert set(got) == {"score", "applicable", "parse_failed", "format"}


def test_compute_score_ignores_verl_internal_kwargs_and_rejects_unknown() -> None:
    out = compute_score("format", GOOD, None, reward_router_address=None)
    assert out["score"] == 1.0
    with pytest.raises(TypeError, match="unknown reward_kwargs key 'presets'"):
        compute_score("format", GOOD, None, presets="visual_rft")
    with pytest.raises(TypeError, match="must be a mapping"):
        compute_score("format", GOOD, None, format="strict")
    with pytest.raises(TypeError, match="unknown option"):
        compute_score("format", GOOD, None, format={"bogus": 1})


def test_task_options_and_presets() -> None:
    text = "<think></think><answer></answer>"  # empty blocks: only the paper's regex accepts
    assert compute_score("format", text, None)["score"] == 0.0
    assert compute_score("format", text, None, preset="visual_rft")["score"] == 1.0
    assert compute_score("format", text, None, format={"rule": "visual_rft"})["score"] == 1.0
    assert compute_score("format", text, None, format={"preset": "visual_rft"})["score"] == 1.0
    opts = RewardOptions.from_kwargs({"preset": "visual_rft", "format": {"preset": "default"}})
    assert opts.reward("format").preset == "default"


@pytest.mark.skipif("counting" not in REWARDS, reason="CountingReward not registered yet")
def test_a_preset_the_task_lacks_is_an_error_never_a_fallback() -> None:
    # counting has no visual_rft preset: the run-wide preset does not silently become default
    # (the CLI's `score --preset visual_rft` refuses counting rows the same way) ...
    with pytest.raises(ValueError, match=r"reward_kwargs.*'counting'.*no preset 'visual_rft'"):
        compute_score("counting", "<think>t</think><answer>3</answer>", "3", preset="visual_rft")
    # ... the message says how to fix it, and the fix works
    with pytest.raises(ValueError, match=r"reward_kwargs\.counting\.preset"):
        compute_score("counting", "3", "3", preset="visual_rft")
    out = compute_score(
        "counting",
        "<think>t</think><answer>3</answer>",
        "3",
        preset="visual_rft",
        counting={"preset": "default"},
    )
    expected = get_reward("counting").score(["<think>t</think><answer>3</answer>"], ["3"])
    assert out["score"] == float(expected.total[0])
    # a preset named for the task itself must exist too, and fails when the options are read
    with pytest.raises(ValueError, match="has no preset"):
        RewardOptions.from_kwargs({"counting": {"preset": "visual_rft"}})


@pytest.mark.skipif("counting" not in REWARDS, reason="CountingReward not registered yet")
def test_not_applicable_is_flagged_not_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compute_score("counting", "<think>t</think><answer>3</answer>", "three-ish?")
        out2 = compute_score(
            "counting", "<think>t</think><answer>3</answer>", "three-ish?", not_applicable_score=-1
        )
    assert out["applicable"] == 0.0 and out["score"] == 0.0
    assert out2["score"] == -1.0
    assert all(np.isfinite(v) for v in out.values())


def test_score_items_one_call_per_task_and_same_keys() -> None:
    texts = [GOOD, "x", "<think>a</think><answer>b</answer>", "<answer>b</answer>"]
    items = [ScoreItem("visual_rewards/format", t, None) for t in texts]
    res = score_items(items)
    assert res.reward_calls == 1
    assert [r["score"] for r in res.rows] == [1.0, 0.0, 1.0, 0.0]
    assert len({tuple(r) for r in res.rows}) == 1
    # identical to one-by-one scoring
    assert res.rows == [compute_score("visual_rewards/format", t, None) for t in texts]


@pytest.mark.skipif("classification" not in REWARDS, reason="ClassificationReward not registered")
def test_mixed_tasks_and_components_switch() -> None:
    items = [
        ScoreItem("visual_rewards/format", GOOD, None),
        ScoreItem("visual_rewards/classification", GOOD, "<answer>rose</answer>"),
        ScoreItem("visual_rewards/format", "rose", None),
    ]
    res = score_items(items)
    assert res.reward_calls == 2
    assert (
        res.rows[1]["score"]
        == compute_score("visual_rewards/classification", GOOD, "<answer>rose</answer>")["score"]
    )
    slim = score_items(items, RewardOptions(components=False))
    assert {tuple(r) for r in slim.rows} == {("score", "applicable", "parse_failed")}
    assert [r["score"] for r in slim.rows] == [r["score"] for r in res.rows]


def test_parquet_shaped_ground_truth_is_plain_python() -> None:
    seen: list[object] = []

    class Spy:
        needs_solution = True
        extra_columns = ("image_size",)

        def score(self, completions, solutions, **columns):  # type: ignore[no-untyped-def]
            seen.append((solutions, columns))
            return get_reward("format").score(completions)

    opts = RewardOptions()
    object.__setattr__(opts, "reward", lambda task: Spy())
    gt = json.dumps({"boxes": [[1, 2, 3, 4]]})
    items = [
        ScoreItem(
            "format", GOOD, gt, {"ground_truth_format": "json", "image_size": np.array([4, 5])}
        ),
        ScoreItem("format", GOOD, np.array([np.array([1, 2])]), {}),
    ]
    score_items(items, opts)
    solutions, columns = seen[0]  # type: ignore[misc]
    assert solutions == [{"boxes": [[1, 2, 3, 4]]}, [[1, 2]]]
    assert columns == {"image_size": [[4, 5], None]}


def test_verl_rows_layout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    img = tmp_path / "a.png"
    img.write_bytes(b"\x89PNG fake")
    rows = verl_rows(
        [
            {"image": "a.png", "problem": "Count the cats.", "solution": "<answer>2</answer>"},
            {
                "image": str(img),
                "problem": "<image> What is it?",
                "solution": {"label": "rose"},
                "task": "classification" if "classification" in REWARDS else "format",
                "metadata": '{"image_size": [4, 5]}',
            },
        ],
        task="format",
        image_root=tmp_path,
        system_prompt="Think first.",
        max_pixels=401408,
    )
    first, second = rows
    assert first["prompt"] == [
        {"role": "system", "content": "Think first."},
        {"role": "user", "content": "<image>Count the cats."},
    ]
    assert first["images"] == [{"bytes": b"\x89PNG fake", "path": "a.png", "max_pixels": 401408}]
    assert first["data_source"] == "visual_rewards/format"
    assert first["reward_model"] == {"style": "rule", "ground_truth": "<answer>2</answer>"}
    assert first["extra_info"]["ground_truth_format"] == "text"
    assert second["prompt"][1]["content"] == "<image> What is it?"
    assert second["extra_info"]["ground_truth_format"] == "json"
    assert json.loads(second["reward_model"]["ground_truth"]) == {"label": "rose"}
    assert json.loads(second["extra_info"]["metadata"]) == {"image_size": [4, 5]}
    assert [r["extra_info"]["index"] for r in rows] == [0, 1]


def test_verl_rows_caller_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError, match="missing field"):
        verl_rows([{"image": b"x", "problem": "p"}], task="format")
    with pytest.raises(ValueError, match="unknown task"):
        verl_rows([{"image": b"x", "problem": "p", "solution": "s"}])
    with pytest.raises(ValueError, match="markers"):
        verl_rows([{"image": b"x", "problem": "<image><image>", "solution": "s"}], task="format")
    with pytest.raises(FileNotFoundError, match="cannot read image"):
        verl_rows(
            [{"image": "nope.png", "problem": "p", "solution": "s"}],
            task="format",
            image_root=tmp_path,
        )
    with pytest.raises(ValueError, match="needs image paths"):
        verl_rows(
            [{"image": b"x", "problem": "p", "solution": "s"}], task="format", embed_images=False
        )


def test_prepare_data_script_writes_parquet(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pq = pytest.importorskip("pyarrow.parquet")
    from pathlib import Path

    (tmp_path / "a.png").write_bytes(b"\x89PNG fake")
    lines = [
        {"image": "a.png", "problem": "Is it formatted?", "solution": "<answer>x</answer>"},
        {"image": "a.png", "problem": "Again?", "solution": ["x"], "task": "format"},
    ]
    src = tmp_path / "train.jsonl"
    src.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    script = Path(__file__).resolve().parents[2] / "integrations" / "verl" / "prepare_data.py"
    out = tmp_path / "out" / "train.parquet"
    args = [sys.executable, str(script), "--input", str(src), "--output", str(out)]
    args += ["--task", "format", "--image-root", str(tmp_path), "--max-pixels", "1024"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    rows = pq.read_table(out).to_pylist()
    assert [r["data_source"] for r in rows] == ["visual_rewards/format"] * 2
    assert rows[0]["images"] == [{"bytes": b"\x89PNG fake", "path": "a.png", "max_pixels": 1024}]
    assert rows[1]["extra_info"]["ground_truth_format"] == "json"
    assert rows[1]["reward_model"]["ground_truth"] == '["x"]'


def test_task_names_are_the_registrys() -> None:
    # one rule: every task name and alias the registry knows routes the same way in veRL,
    # through data_source, extra_info and reward_kwargs alike
    from visual_rewards.rewards.registry import TASK_ALIASES, resolve_task

    for name in [*REWARDS, *TASK_ALIASES]:
        task = resolve_task(name)
        assert task_of(f"visual_rewards/{name}", None) == task
        assert task_of("x", {"task": name}) == task
        assert RewardOptions.from_kwargs({"task": name}).task == task


def test_batch_scores_are_the_score_commands() -> None:
    # veRL's batch scoring is visual_rewards.scoring.score_rows, the rule the CLI uses
    from visual_rewards.scoring import score_rows

    texts = ["<think>a</think><answer>b</answer>", "b", "<think></think><answer>c</answer>"]
    rows = score_items([ScoreItem("format", t, None) for t in texts]).rows
    expected = score_rows(get_reward("format"), [{"completion": t} for t in texts])
    assert [r["score"] for r in rows] == expected.total.tolist()
    assert [r["parse_failed"] for r in rows] == expected.parse_failed.astype(float).tolist()
