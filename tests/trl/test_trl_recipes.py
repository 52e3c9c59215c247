"""The TRL recipes equal the authors' released scripts, or say why not.

The authors' scripts (github.com/Liuziyu77/Visual-RFT, ``src/scripts/*.sh``) are written down
here as numbers: what each one passes to their trainer, and what it relied on from the TRL
defaults of the time. Every recipe names the script it follows; every value that differs is
listed, with its reason, in the table of ``integrations/trl/README.md`` §6.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")
pytest.importorskip("yaml")

from _trl_script import RECIPES, TRL_DIR, parse_recipe

#: What every script of the authors sets: ``torchrun --nproc_per_node 8`` with
#: ``--per_device_train_batch_size 1`` (one prompt; their trainer counted prompts),
#: ``--gradient_accumulation_steps 2``, ``--bf16``, ``--attn_implementation flash_attention_2``,
#: ``--max_pixels 401408``, ``--max_prompt_length 1024``, ``--logging_steps 1``,
#: ``--save_only_model true``; and the defaults they relied on (learning rate 1e-6, KL beta 0.04,
#: 256 completion tokens; temperature 1 is hard-coded in their trainer).
COMMON: dict[str, Any] = {
    "prompts_per_device": 1,
    "gradient_accumulation_steps": 2,
    "bf16": True,
    "attn_implementation": "flash_attention_2",
    "max_pixels": 401408,
    "max_prompt_length": 1024,
    "logging_steps": 1,
    "save_only_model": True,
    "learning_rate": 1e-6,
    "beta": 0.04,
    "max_completion_length": 256,
    "temperature": 1.0,
}

#: The four released training scripts, what each sets besides :data:`COMMON`.
SCRIPTS: dict[str, dict[str, Any]] = {
    "2B_aircraft_4_shot.sh": {
        "model": "Qwen2-VL-2B-Instruct",
        "length": ("epochs", 1),
        "num_generations": 8,
        "gradient_checkpointing": False,
        "save_steps": 100,
    },
    "2B_base65cate_6k.sh": {
        "model": "Qwen2-VL-2B-Instruct",
        "length": ("epochs", 2),
        "num_generations": 8,
        "gradient_checkpointing": False,
        "save_steps": 100,
    },
    "7B_base65cate_6k.sh": {
        "model": "Qwen2-VL-7B-Instruct",
        "length": ("epochs", 2),
        "num_generations": 4,
        "gradient_checkpointing": False,
        "save_steps": 100,
    },
    "2B_lisa_grounding.sh": {
        "model": "Qwen2-VL-2B-Instruct",
        "length": ("epochs", 6),
        "num_generations": 8,
        "gradient_checkpointing": True,
        "save_steps": 50,
    },
}

#: Recipe -> the script it follows (few-shot detection and the 7B classification and grounding
#: runs have no script of their own: the closest one of the same task and training entry point).
FOLLOWS: dict[str, str] = {
    "qwen2vl-2b_classification": "2B_aircraft_4_shot.sh",
    "qwen2vl-7b_classification": "2B_aircraft_4_shot.sh",
    "qwen2vl-2b_ovd": "2B_base65cate_6k.sh",
    "qwen2vl-7b_ovd": "7B_base65cate_6k.sh",
    "qwen2vl-2b_detection": "2B_base65cate_6k.sh",
    "qwen2vl-7b_detection": "7B_base65cate_6k.sh",
    "qwen2vl-7b_detection_vllm": "7B_base65cate_6k.sh",
    "qwen25vl-7b_detection": "7B_base65cate_6k.sh",
    "qwen2vl-2b_lisa": "2B_lisa_grounding.sh",
    "qwen2vl-7b_lisa": "2B_lisa_grounding.sh",
}

#: The deliberate differences: (recipe or "*" for all, setting) -> the recipe's value. Each one
#: is a row of the differences table in integrations/trl/README.md, with its reason.
DIFFERENCES: dict[tuple[str, str], Any] = {
    ("*", "max_prompt_length"): None,
    ("qwen2vl-2b_detection", "length"): ("steps", 200),
    ("qwen2vl-7b_detection", "length"): ("steps", 200),
    ("qwen2vl-7b_detection_vllm", "length"): ("steps", 200),
    ("qwen25vl-7b_detection", "length"): ("steps", 200),
    ("qwen2vl-7b_classification", "model"): "Qwen2-VL-7B-Instruct",
    ("qwen2vl-7b_lisa", "model"): "Qwen2-VL-7B-Instruct",
    ("qwen2vl-7b_detection_vllm", "gradient_checkpointing"): True,
    ("qwen25vl-7b_detection", "gradient_checkpointing"): True,
    ("qwen25vl-7b_detection", "model"): "Qwen2.5-VL-7B-Instruct",
    ("qwen25vl-7b_detection", "max_pixels"): 1003520,
}

README = TRL_DIR / "README.md"


def recipe_values(path: Path) -> dict[str, Any]:
    """The recipe's settings, named as in :data:`COMMON` and :data:`SCRIPTS`."""
    script_args, grpo, model = parse_recipe(path)
    assert grpo.per_device_train_batch_size % grpo.num_generations == 0
    length = ("steps", grpo.max_steps) if grpo.max_steps > 0 else ("epochs", grpo.num_train_epochs)
    return {
        "model": model.model_name_or_path.split("/")[-1],
        "length": length,
        "num_generations": grpo.num_generations,
        "prompts_per_device": grpo.per_device_train_batch_size // grpo.num_generations,
        "gradient_accumulation_steps": grpo.gradient_accumulation_steps,
        "gradient_checkpointing": grpo.gradient_checkpointing,
        "save_steps": grpo.save_steps,
        "bf16": grpo.bf16,
        "attn_implementation": model.attn_implementation,
        "max_pixels": script_args.max_pixels,
        "max_prompt_length": getattr(grpo, "max_prompt_length", None),
        "logging_steps": grpo.logging_steps,
        "save_only_model": grpo.save_only_model,
        "learning_rate": grpo.learning_rate,
        "beta": grpo.beta,
        "max_completion_length": grpo.max_completion_length,
        "temperature": grpo.temperature,
    }


def _difference(stem: str, key: str) -> tuple[bool, Any]:
    for recipe in (stem, "*"):
        if (recipe, key) in DIFFERENCES:
            return True, DIFFERENCES[(recipe, key)]
    return False, None


def test_every_recipe_follows_a_script() -> None:
    assert {p.stem for p in RECIPES} == set(FOLLOWS)
    assert set(FOLLOWS.values()) == set(SCRIPTS)  # every released script has its recipe


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_recipe_equals_the_authors_script_but_for_listed_differences(path: Path) -> None:
    script = FOLLOWS[path.stem]
    want = {**COMMON, **SCRIPTS[script]}
    got = recipe_values(path)
    for key, value in want.items():
        differs, ours = _difference(path.stem, key)
        expected = ours if differs else value
        if isinstance(expected, float):
            assert got[key] == pytest.approx(expected), key
        else:
            assert got[key] == expected, key
        if differs and ours is not None:
            assert ours != value, f"{key}: listed as a difference but equals {script}"
    # the recipe names the script it follows, so a reader can check it
    assert script in path.read_text()


def _difference_rows() -> list[str]:
    text = README.read_text()
    section = text[text.index("### Deliberate differences") :]
    section = section[: section.index("\n## ")] if "\n## " in section else section
    return [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]


@pytest.mark.parametrize(
    ("recipe", "key"), sorted(DIFFERENCES), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_difference_is_in_the_readme_with_a_reason(recipe: str, key: str) -> None:
    name = "every recipe" if recipe == "*" else recipe
    rows = [r for r in _difference_rows() if f"`{key}`" in r and name in r]
    assert rows, f"no row for {name} / `{key}` in {README}'s differences table"
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert len(cells) == 5 and len(cells[-1]) > 20, f"row without a reason: {rows[0]}"


def test_the_readme_tells_the_recipes_values() -> None:
    # the values table of §6 names the scripts' epochs and generations, not the old ones
    text = README.read_text()
    assert "2 epochs" in text and "6 epochs" in text and "1 epoch" in text
    assert re.search(r"num_generations.*4", text)
