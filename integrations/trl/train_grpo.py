"""Visual-RFT with TRL: GRPO-train a Qwen2-VL / Qwen2.5-VL model with visual-rewards.

The dataset is in the paper's format, one row per prompt: ``image`` (a PIL image, or a path
relative to the dataset file), ``problem`` (the prompt text) and ``solution`` (the ground truth,
e.g. ``<answer>[{'Position': [x1, y1, x2, y2], 'Confidence': 1}]</answer>``) -- what
``visual-rewards build-dataset`` writes. ``--task`` picks the reward (detection,
open_vocabulary_detection, classification, grounding); like the paper, the task's accuracy
reward and the format reward are two separate reward functions, so TRL logs each
(``rewards/<name>/mean``) and visual-rewards adds their components (``rewards/<name>/iou/mean``,
the parse-failure rate, ...).

One process (CPU or one GPU)::

    python integrations/trl/train_grpo.py --config integrations/trl/configs/qwen2vl-2b_detection.yaml

Eight GPUs on one node, DeepSpeed ZeRO-3 (see README.md beside this file for several nodes)::

    accelerate launch --config_file integrations/trl/accelerate/1node-8gpu-zero3.yaml \\
        integrations/trl/train_grpo.py --config integrations/trl/configs/qwen2vl-2b_detection.yaml

Every option of ``GRPOConfig`` and TRL's ``ModelConfig`` can be given in the YAML file or on
the command line (the command line wins); this script adds the ones of
:class:`VisualRFTArguments`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: ``--task`` -> the reward task name in ``visual_rewards.REWARDS``.
TASK_REWARDS: dict[str, str] = {
    "detection": "detection",
    "open_vocabulary_detection": "detection",
    "classification": "classification",
    "grounding": "grounding",
}


@dataclass
class VisualRFTArguments:
    """What to train on and how to reward it (the rest is ``GRPOConfig`` and ``ModelConfig``)."""

    dataset_name: str = field(
        default="",
        metadata={
            "help": "A JSONL/JSON file (rows: image path, problem, solution; paths relative to the "
            "file), a folder written by datasets' save_to_disk, or a dataset name on the Hub."
        },
    )
    dataset_config: str | None = field(default=None, metadata={"help": "Hub dataset config."})
    dataset_train_split: str = field(default="train", metadata={"help": "Split to train on."})
    max_samples: int | None = field(default=None, metadata={"help": "Use the first N rows only."})
    task: str = field(
        default="detection",
        metadata={"help": f"One of {sorted(TASK_REWARDS)}.", "choices": sorted(TASK_REWARDS)},
    )
    reward_preset: str = field(
        default="visual_rft",
        metadata={"help": "Reward preset: 'visual_rft' (the paper's rewards) or 'default'."},
    )
    reward_options: str | None = field(
        default=None,
        metadata={
            "help": "Options of the task reward as JSON (a mapping in YAML), e.g. "
            '\'{"coords": "qwen25vl"}\' for Qwen2.5-VL\'s absolute coordinates.'
        },
    )
    separate_format_reward: bool = field(
        default=True,
        metadata={
            "help": "Score the format with its own reward function (as the paper does) and set "
            "the task reward's format_weight to 0, so that both show in TRL's logs."
        },
    )
    image_column: str = field(default="image", metadata={"help": "Column holding the image."})
    problem_column: str = field(default="problem", metadata={"help": "Column of prompt text."})
    solution_column: str = field(default="solution", metadata={"help": "Ground-truth column."})
    system_prompt: str | None = field(default=None, metadata={"help": "Optional system turn."})
    min_pixels: int | None = field(
        default=None, metadata={"help": "Processor's min_pixels (Qwen2-VL default 3136)."}
    )
    max_pixels: int | None = field(
        default=None,
        metadata={
            "help": "Processor's max_pixels; Visual-RFT trained with 401408 (512 x 28 x 28)."
        },
    )


def _options(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"reward_options must be a JSON object, got {raw!r}")
    return value


def build_rewards(args: VisualRFTArguments, processor: Any = None) -> list[Any]:
    """The reward functions for ``args.task``: the task reward, then (by default) the format reward.

    For the ``qwen25vl`` coordinate space the reward must know the processor's pixel bounds:
    unless ``reward_options`` sets them, ``min_pixels``/``max_pixels`` are taken from the
    processor, so the reward reads boxes in exactly the resized image the model saw.
    """
    import visual_rewards as vr
    from visual_rewards.rewards import REWARDS
    from visual_rewards.trl import pixel_bounds

    if args.task not in TASK_REWARDS:
        raise ValueError(f"task must be one of {sorted(TASK_REWARDS)}, got {args.task!r}")
    name = TASK_REWARDS[args.task]
    if name not in REWARDS:
        raise ValueError(
            f"task {args.task!r} needs the {name!r} reward, which this visual-rewards "
            f"version does not have (known: {sorted(REWARDS)})"
        )
    cls = REWARDS[name]
    preset = args.reward_preset
    if preset not in cls.presets:
        raise ValueError(f"reward_preset must be one of {sorted(cls.presets)}, got {preset!r}")
    fields = {f.name for f in dataclasses.fields(cls.presets[preset])}
    options = _options(args.reward_options)
    for key, value in pixel_bounds(processor).items():
        if key in fields and key not in options:
            options[key] = value
    separate = args.separate_format_reward and "format_weight" in fields
    if separate:
        options.setdefault("format_weight", 0.0)
    task_reward = cls(preset, solution_column=args.solution_column, **options)
    rewards: list[Any] = [task_reward]
    if separate:
        rewards.append(vr.FormatReward("visual_rft" if preset == "visual_rft" else "default"))
    return rewards


def load_rows(args: VisualRFTArguments) -> Any:
    """The training split as a ``datasets.Dataset`` with ``prompt``, ``image`` and ``solution``."""
    import datasets

    source = args.dataset_name
    if not source:
        raise ValueError(
            "dataset_name is required (a JSONL file, a save_to_disk folder or a Hub name)"
        )
    path = Path(source)
    if path.is_file():
        ds = datasets.load_dataset("json", data_files=str(path), split="train")
        root = path.resolve().parent

        def absolute(row: dict[str, Any]) -> dict[str, Any]:
            image = row[args.image_column]
            if isinstance(image, str) and not os.path.isabs(image):
                row[args.image_column] = str(root / image)
            return row

        ds = ds.map(absolute)
    elif path.is_dir():
        loaded = datasets.load_from_disk(str(path))
        ds = (
            loaded[args.dataset_train_split] if isinstance(loaded, datasets.DatasetDict) else loaded
        )
    else:
        ds = datasets.load_dataset(source, args.dataset_config, split=args.dataset_train_split)
    missing = [
        c
        for c in (args.image_column, args.problem_column, args.solution_column)
        if c not in ds.column_names
    ]
    if missing:
        raise ValueError(f"dataset {source!r} lacks column(s) {missing}; it has {ds.column_names}")
    if args.max_samples is not None:
        ds = ds.select(range(min(args.max_samples, len(ds))))
    if not isinstance(ds.features[args.image_column], datasets.Image):
        ds = ds.cast_column(args.image_column, datasets.Image())
    if args.image_column != "image":
        ds = ds.rename_column(args.image_column, "image")
    system = args.system_prompt

    def to_prompt(row: dict[str, Any]) -> dict[str, Any]:
        turns = [{"role": "system", "content": system}] if system else []
        turns.append({"role": "user", "content": row[args.problem_column]})
        return {"prompt": turns}

    return ds.map(to_prompt)


def load_processor(model_id: str, args: VisualRFTArguments, revision: str | None = None) -> Any:
    """``AutoProcessor`` for the model, with the image bounds of ``args`` when given."""
    from transformers import AutoProcessor

    from visual_rewards.trl import pixel_bounds

    kwargs: dict[str, Any] = {}
    if args.min_pixels is not None:
        kwargs["min_pixels"] = args.min_pixels
    if args.max_pixels is not None:
        kwargs["max_pixels"] = args.max_pixels
    processor = AutoProcessor.from_pretrained(model_id, revision=revision, **kwargs)
    if kwargs:
        got = pixel_bounds(processor)
        if any(got.get(k) != v for k, v in kwargs.items()):
            raise ValueError(
                f"the processor of {model_id} did not take the pixel bounds {kwargs} (it has {got})"
            )
    return processor


def main(argv: Sequence[str] | None = None) -> Any:
    """Parse ``argv`` (default: ``sys.argv[1:]``), train, save; return the trainer."""
    from trl import GRPOConfig, GRPOTrainer, ModelConfig, TrlParser, get_peft_config

    parser = TrlParser((VisualRFTArguments, GRPOConfig, ModelConfig))
    script_args, training_args, model_args = parser.parse_args_and_config(
        None if argv is None else list(argv)
    )
    if not model_args.model_name_or_path:
        raise ValueError("model_name_or_path is required")
    model_id = model_args.model_name_or_path
    init = {
        "revision": model_args.model_revision,
        "attn_implementation": model_args.attn_implementation,
        "dtype": model_args.dtype,
    }
    init = {k: v for k, v in init.items() if v is not None}
    training_args.model_init_kwargs = {**init, **(training_args.model_init_kwargs or {})}

    processor = load_processor(model_id, script_args, model_args.model_revision)
    rewards = build_rewards(script_args, processor)
    dataset = load_rows(script_args)

    trainer = GRPOTrainer(
        model=model_id,
        reward_funcs=rewards,
        args=training_args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=get_peft_config(model_args),
    )
    trainer.train()
    trainer.save_model(training_args.output_dir)
    return trainer


if __name__ == "__main__":
    main()
