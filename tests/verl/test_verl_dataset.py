"""The parquet builder's output, read back by veRL 0.9.1's own ``RLHFDataset``."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("verl")

from _tiny_models import TinyQwen2VLProcessor
from _verl_helpers import build_tokenizer, recipe_config
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
    Qwen2VLImageProcessorPil,
)
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

from verl import DataProto
from visual_rewards.rewards import REWARDS, get_reward
from visual_rewards.verl import compute_score, write_verl_parquet

DET_GT = {"boxes": [[100, 100, 500, 500]], "coords": "norm1000"}


def _paper_rows(tmp_path: Path) -> list[dict[str, Any]]:
    """Rows in the paper's format: image, problem, solution (+ task, metadata)."""
    on_disk = tmp_path / "img_0.png"
    Image.new("RGB", (80, 56), "red").save(on_disk)
    rows: list[dict[str, Any]] = [
        {
            "image": "img_0.png",
            "problem": "What flower is this?",
            "solution": "<answer>rose</answer>",
            "task": "classification",
            "metadata": {"image_size": [80, 56]},
        },
        {
            "image": Image.new("RGB", (64, 48), "blue"),
            "problem": "What flower is this?",
            "solution": "<answer>tulip</answer>",
            "task": "classification",
        },
    ]
    if "detection" in REWARDS:
        rows.append(
            {
                "image": on_disk.read_bytes(),
                "problem": "Detect the rose.",
                "solution": DET_GT,
                "task": "detection",
                "metadata": {"image_size": [80, 56]},
            }
        )
        # no metadata: the image size is read from the image
        rows.append(
            {
                "image": Image.new("RGB", (90, 30), "green"),
                "problem": "Detect the rose.",
                "solution": "<answer>[{'Position': [0, 0, 500, 500], 'Confidence': 1}]</answer>",
                "task": "detection",
            }
        )
    return rows


@pytest.mark.skipif("classification" not in REWARDS, reason="ClassificationReward not registered")
def test_builder_output_loads_with_verl_rlhf_dataset(tmp_path: Path) -> None:
    tokenizer = build_tokenizer(tmp_path / "tok")
    processor = TinyQwen2VLProcessor(
        # size= rather than min_pixels=/max_pixels=, which in transformers 5.10 change the
        # class-wide default size for the rest of the test process.
        Qwen2VLImageProcessorPil(size={"shortest_edge": 56 * 56, "longest_edge": 112 * 112}),
        tokenizer,
        chat_template=tokenizer.chat_template,
    )
    rows = _paper_rows(tmp_path)
    path = write_verl_parquet(
        rows, tmp_path / "train.parquet", image_root=tmp_path, max_pixels=112 * 112
    )
    # qwen_vl_utils (veRL's length filter) imports torchvision, absent beside the CPU torch
    # wheel, so the length filter is off here; everything else is veRL's loading path.
    cfg = recipe_config(
        "visual_rft_grpo_2b", [f"data.train_files={path}", "data.filter_overlong_prompts=false"]
    )
    ds = RLHFDataset(
        data_files=str(path), tokenizer=tokenizer, config=cfg.data, processor=processor
    )
    assert len(ds) == len(rows)

    for i, source in enumerate(rows):
        item = ds[i]
        assert item["data_source"] == f"visual_rewards/{source['task']}"
        assert item["extra_info"]["task"] == source["task"]
        assert item["extra_info"]["index"] == i
        (message,) = item["raw_prompt"]
        assert message["role"] == "user"
        image_part, text_part = message["content"]
        assert image_part["type"] == "image" and isinstance(image_part["image"], Image.Image)
        assert image_part["max_pixels"] == 112 * 112
        assert text_part == {"type": "text", "text": source["problem"]}
        # the Qwen2-VL processor takes the row as the rollout does
        text = processor.apply_chat_template(
            item["raw_prompt"], add_generation_prompt=True, tokenize=False
        )
        inputs = processor(text=[text], images=[image_part["image"]], return_tensors="pt")
        assert int((inputs["input_ids"] == processor.image_token_id).sum()) > 0
        assert inputs["pixel_values"].shape[0] > 0
        # the stored ground truth scores as the original one does
        completion = "<think>t</think><answer>rose</answer>"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = compute_score(
                item["data_source"],
                completion,
                item["reward_model"]["ground_truth"],
                item["extra_info"],
            )
            want = get_reward(source["task"]).score([completion], [source["solution"]])
        assert got["score"] == float(np.nan_to_num(want.total[0]))
        if source["task"] == "detection":
            assert got["applicable"] == 1.0
            assert "image" not in item["extra_info"]  # images travel in `images` only
            expected_size = source.get("metadata", {}).get("image_size", [90, 30])
            assert item["extra_info"]["image_size"] == expected_size
            gt_format = "text" if isinstance(source["solution"], str) else "json"
            assert item["extra_info"]["ground_truth_format"] == gt_format
    assert ds[0]["extra_info"]["ground_truth_format"] == "text"

    # the trainer's collate + DataProto step takes the rows as they are
    batch = DataProto.from_single_dict(collate_fn([ds[i] for i in range(len(ds))]))
    assert list(batch.non_tensor_batch["data_source"]) == [
        ds[i]["data_source"] for i in range(len(ds))
    ]
    assert batch.non_tensor_batch["reward_model"][1]["ground_truth"] == "<answer>tulip</answer>"
