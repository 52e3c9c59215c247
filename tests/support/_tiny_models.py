"""Tiny, randomly initialised Qwen2-VL / Qwen2.5-VL models for CPU training tests.

Nothing here downloads anything: the tokenizer is a byte-level BPE (1000 tokens) trained on a
few hundred words with :mod:`tokenizers`, the model is built from a config (hidden 64, 2 layers, vision
depth 2), and the processor is an image-only subclass of the stock Qwen2-VL processor,
because the stock one wants a video processor that needs torchvision, which does not import
beside the CPU torch wheel. Everything is saved with ``save_pretrained`` and meant to be loaded
back with ``from_pretrained``, so the real loading path is what the tests exercise.

A random model never writes the think/answer format, so every reward would be 0 and GRPO would
have nothing to learn from; :func:`build_tiny_model` can first fit the model for a few dozen
steps on the rows' answers ("warm start"), so sampled completions are right some of the time.

It imports torch and transformers (the ``trl`` extra); without them it skips.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest

# pytest imports every module under tests/ for doctests: skip cleanly without the trl extra
pytest.importorskip("transformers")
pytest.importorskip("PIL")

from PIL import Image, ImageDraw
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoProcessor,
    PreTrainedTokenizerFast,
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLConfig,
    Qwen2VLForConditionalGeneration,
    Qwen2VLProcessor,
)
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
from transformers.processing_utils import ProcessorMixin

from visual_rewards.geometry.coords import smart_resize

Family = Literal["qwen2vl", "qwen25vl"]

#: The tiny processor's image bounds: images become 56x56 .. 112x112 pixels (1 .. 16 tokens).
TINY_MIN_PIXELS = 56 * 56
TINY_MAX_PIXELS = 112 * 112

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# A chat template in the Qwen2-VL message format (written for these tests): a default system
# turn, images as <|vision_start|><|image_pad|><|vision_end|>, and the assistant header when a
# generation prompt is asked for.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] != 'system' -%}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{%- endif -%}"
    "{%- for message in messages -%}"
    "<|im_start|>{{ message['role'] }}\n"
    "{%- if message['content'] is string -%}{{ message['content'] }}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' or 'image' in part -%}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif part['type'] == 'text' -%}{{ part['text'] }}"
    "{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "<|im_end|>\n"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>assistant\n{%- endif -%}"
)

_WORDS = [
    "think",
    "answer",
    "position",
    "confidence",
    "no",
    "objects",
    "detect",
    "every",
    "cloud",
    "heart",
    "arrow",
    "star",
    "cat",
    "dog",
    "person",
    "car",
    "box",
    "the",
    "a",
    "of",
    "in",
    "image",
    "output",
    "with",
    "json",
    "format",
    "please",
    "and",
    "what",
    "is",
    "this",
    "which",
    "class",
    "flower",
    "bird",
    "plane",
    "label",
    "bbox",
    "point",
    "first",
    "then",
    "reason",
    "about",
    "final",
    "inside",
    "tags",
    "0",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "10",
    "100",
    "1000",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    ",",
    ".",
    ":",
    "'",
    '"',
    "<",
    ">",
    "/",
    "=",
    "-",
    "_",
    "?",
    "!",
    "yes",
    "red",
    "blue",
    "green",
    "small",
    "large",
    "left",
    "right",
    "top",
    "bottom",
    "object",
    "category",
    "count",
    "how",
    "many",
]


class _ImageOnlyMixin:
    """Replaces the stock ``__init__``: an image processor and a tokenizer, no video processor."""

    def __init__(
        self,
        image_processor: Any = None,
        tokenizer: Any = None,
        chat_template: Any = None,
        **kw: Any,
    ) -> None:
        self.image_token = "<|image_pad|>"
        self.video_token = "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)  # type: ignore[arg-type]


class TinyQwen2VLProcessor(_ImageOnlyMixin, Qwen2VLProcessor):
    """Qwen2-VL's processor without the video processor (no torchvision needed)."""


class TinyQwen25VLProcessor(_ImageOnlyMixin, Qwen2_5_VLProcessor):
    """Qwen2.5-VL's processor without the video processor (no torchvision needed)."""


_FAMILIES: dict[str, tuple[Any, Any, Any]] = {
    "qwen2vl": (Qwen2VLConfig, Qwen2VLForConditionalGeneration, TinyQwen2VLProcessor),
    "qwen25vl": (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, TinyQwen25VLProcessor),
}


def register_processors() -> None:
    """Make ``AutoProcessor.from_pretrained`` build the image-only processors (idempotent).

    This changes a process-wide mapping: tests use :func:`tiny_processors` to undo it.
    """
    for config_cls, _, processor_cls in _FAMILIES.values():
        AutoProcessor.register(config_cls, processor_cls, exist_ok=True)


def unregister_processors() -> None:
    """Give Qwen2-VL/Qwen2.5-VL configs their stock processors back."""
    from transformers.models.auto.processing_auto import PROCESSOR_MAPPING

    for config_cls, _, _ in _FAMILIES.values():
        PROCESSOR_MAPPING._extra_content.pop(config_cls, None)


@contextlib.contextmanager
def tiny_processors() -> Iterator[None]:
    """:func:`register_processors` for the duration of a ``with`` block."""
    register_processors()
    try:
        yield
    finally:
        unregister_processors()


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block.

    A tiny model runs thousands of very small ops; with two threads on a busy 2-core machine
    each op waits for the other thread to be scheduled, and a 2-second run took minutes.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def build_tokenizer(texts: Sequence[str] = ()) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (1000 tokens) with Qwen's special tokens and chat template.

    ``texts`` join the training corpus (the warm-start answers: their numbers become tokens).
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1000,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    corpus = [" ".join(_WORDS[i:] + _WORDS[:i]) for i in range(len(_WORDS))]
    corpus += [PROMPT.format(category=c) for c in ("cloud", "heart", "arrow", "star", "box")] * 4
    corpus += ["'Position': [", "'Confidence': 0.9", "You are a helpful assistant."] * 4
    corpus += list(texts) * 8
    tok.train_from_iterator(corpus, trainer=trainer)
    # Qwen has no such tokens, but single tokens make the warm start (see build_tiny_model) quick.
    tok.add_tokens(["<think>", "</think>", "<answer>", "</answer>"])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(
    path: str | Path,
    family: Family = "qwen2vl",
    *,
    warm_start: list[dict[str, Any]] | None = None,
    warm_start_steps: int = 50,
    seed: int = 0,
) -> Path:
    """Build a tiny random ``family`` model with tokenizer and processor and save all to ``path``.

    ``warm_start``: rows ``{"image", "problem", "answer"}``; the model is first fitted for
    ``warm_start_steps`` steps to answer each prompt in the think/answer format with its
    ``answer``, so that sampled completions are sometimes right and sometimes not (a
    random model never writes the format, every reward is 0, and GRPO has nothing to learn).

    Returns ``path``. Load it back with ``from_pretrained(path)`` inside :func:`tiny_processors`.
    """
    import torch

    config_cls, model_cls, processor_cls = _FAMILIES[family]
    path = Path(path)
    tokenizer = build_tokenizer([r["answer"] for r in warm_start or ()])
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    vocab = len(tokenizer)
    text = {
        "vocab_size": vocab,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 10000.0,
            "mrope_section": [2, 3, 3],
        },
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision: dict[str, Any] = {"depth": 2, "num_heads": 2, "hidden_size": 64, "patch_size": 14}
    if family == "qwen2vl":
        vision.update(embed_dim=32, mlp_ratio=2)
    else:
        vision.update(
            hidden_size=32,
            intermediate_size=64,
            out_hidden_size=64,
            window_size=56,
            fullatt_block_indexes=[1],
        )
    config = config_cls(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = model_cls(config)
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    # Small images: 56x56 .. 112x112 pixels -> 4 .. 16 patches of 14 px, 1 .. 4 image tokens.
    # size= (not min_pixels=/max_pixels=, which edit the class-level default dict in place)
    image_processor = Qwen2VLImageProcessorPil(
        size={"shortest_edge": TINY_MIN_PIXELS, "longest_edge": TINY_MAX_PIXELS}
    )
    processor = processor_cls(image_processor, tokenizer, chat_template=CHAT_TEMPLATE)
    if warm_start:
        _warm_start(model, processor, warm_start, warm_start_steps)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def _warm_start(model: Any, processor: Any, rows: list[dict[str, Any]], steps: int) -> None:
    import torch

    prompts = [
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": r["problem"]}]}]
        for r in rows
    ]
    targets = [
        "<think>I look at the image.</think>"
        + r["answer"].replace("'Confidence': 1", "'Confidence': 0.9")
        for r in rows
    ]
    images = [[r["image"]] for r in rows]
    prompt_texts = processor.apply_chat_template(
        prompts, add_generation_prompt=True, tokenize=False
    )
    full = [p + t + "<|im_end|>" for p, t in zip(prompt_texts, targets, strict=True)]
    enc = processor(text=full, images=images, return_tensors="pt", padding=True)
    n_prompt = [
        len(processor(text=[p], images=[im])["input_ids"][0])
        for p, im in zip(prompt_texts, images, strict=True)
    ]
    labels = enc["input_ids"].clone()
    labels[enc["attention_mask"] == 0] = -100
    for i, n in enumerate(n_prompt):  # right padding: the prompt is the first n tokens
        labels[i, :n] = -100
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(steps):
        loss = model(**enc, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------

#: A short detection prompt in the paper's answer format (the paper's full prompt is ~4x longer,
#: which only makes the CPU test slower).
PROMPT = (
    "Detect every {category} in the image. Think in <think> </think>, then answer in "
    "<answer>[{{'Position': [x1, y1, x2, y2], 'Confidence': number}}]</answer>."
)


def detection_rows(
    data_dir: Path | None,
    *,
    coords: str = "norm1000",
    min_pixels: int = TINY_MIN_PIXELS,
    max_pixels: int = TINY_MAX_PIXELS,
    tmp_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Detection rows ``{"image", "image_path", "problem", "answer", "solution"}``.

    Built from ``data_dir/coco_tiny`` (COCO ground truth, one category per image) when it
    exists, else from three generated images with one red square each (saved as PNG files in
    ``tmp_dir`` when given, so ``image_path`` is set; see :func:`_square_samples`). ``answer`` is what the model should
    write, in the paper's format, with boxes in ``coords``: ``"norm1000"`` (Qwen2-VL) or
    ``"qwen25vl"`` (pixels of the image after the processor's smart-resize with
    ``min_pixels``/``max_pixels``); ``solution``, the ground truth, is always in ``norm1000``,
    so reading a ``qwen25vl`` answer against it needs each image's size and the pixel bounds.
    """
    samples: list[tuple[Image.Image, str | None, str, list[list[float]]]] = []
    coco = None if data_dir is None else data_dir / "coco_tiny"
    if coco is not None and (coco / "gt_dataset.json").exists():
        gt = json.loads((coco / "gt_dataset.json").read_text())
        names = {c["id"]: c["name"] for c in gt["categories"]}
        for img in gt["images"]:
            anns = [a for a in gt["annotations"] if a["image_id"] == img["id"]]
            cat = names[anns[0]["category_id"]]
            boxes = [
                [x, y, x + bw, y + bh]
                for a in anns
                if names[a["category_id"]] == cat
                for x, y, bw, bh in [a["bbox"]]
            ]
            with Image.open(coco / img["file_name"]) as im:
                image = im.convert("RGB")
            samples.append((image, str(coco / img["file_name"]), cat, boxes))
    else:
        samples = _square_samples(tmp_dir)
    rows = []
    for image, path, category, boxes in samples:
        w, h = image.size
        rh, rw = smart_resize(h, w, min_pixels=min_pixels, max_pixels=max_pixels)
        scale = {"qwen25vl": (rw / w, rh / h), "norm1000": (1000 / w, 1000 / h)}
        rows.append(
            {
                "image": image,
                "image_path": path,
                "problem": PROMPT.format(category=category),
                "answer": _answer(boxes, *scale[coords]),
                "solution": _answer(boxes, *scale["norm1000"]),
            }
        )
    return rows


#: Sizes of the generated images: larger than the tiny processor's ``TINY_MAX_PIXELS`` (so
#: its smart-resize shrinks them, as it does the 256x256 COCO images of ``../shared``) and of
#: different shapes. Images inside both pixel bounds would come out the same size under the
#: tiny bounds and under Qwen2.5-VL's defaults, and the ``qwen25vl`` test could not tell them
#: apart.
SQUARE_IMAGE_SIZES: tuple[tuple[int, int], ...] = ((224, 160), (240, 176), (192, 208))
SQUARE_SIDE = 96


def _square_samples(
    tmp_dir: Path | None,
) -> list[tuple[Image.Image, str | None, str, list[list[float]]]]:
    """Generated detection samples (no ``../shared`` needed): one red square per image."""
    rng = np.random.default_rng(0)
    samples: list[tuple[Image.Image, str | None, str, list[list[float]]]] = []
    for i, (w, h) in enumerate(SQUARE_IMAGE_SIZES):
        image = Image.new("RGB", (w, h), "white")
        x0 = int(rng.integers(0, w - SQUARE_SIDE))
        y0 = int(rng.integers(0, h - SQUARE_SIDE))
        box = [x0, y0, x0 + SQUARE_SIDE, y0 + SQUARE_SIDE]
        ImageDraw.Draw(image).rectangle(box, fill="red")
        path = None
        if tmp_dir is not None:
            path = str(tmp_dir / f"square_{i}.png")
            image.save(path)
        samples.append((image, path, "box", [[float(v) for v in box]]))
    return samples


def _answer(boxes: list[list[float]], sx: float, sy: float) -> str:
    scaled = [
        [round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy)] for x0, y0, x1, y1 in boxes
    ]
    items = ", ".join(f"{{'Position': {b}, 'Confidence': 1}}" for b in scaled)
    return f"<answer>[{items}]</answer>"


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> Path:
    """Write rows as the training script reads them: ``image`` is the image file's path."""
    with path.open("w") as fh:
        for row in rows:
            if row["image_path"] is None:
                raise ValueError("row has no image file; build it with tmp_dir=")
            record = {
                "image": row["image_path"],
                "problem": row["problem"],
                "solution": row["solution"],
            }
            fh.write(json.dumps(record) + "\n")
    return path


_BUILT: dict[str, tuple[Path, list[dict[str, Any]]]] = {}


def shared_tiny_model(
    root: Path, family: Family, data_dir: Path | None
) -> tuple[Path, list[dict[str, Any]]]:
    """Build (once per test session) a warm-started tiny model of ``family`` and its rows.

    ``root`` is a session-scoped folder (``tmp_path_factory.getbasetemp()``); the rows are in
    the family's coordinate space (``norm1000`` for Qwen2-VL, ``qwen25vl`` for Qwen2.5-VL) and
    have image files (``image_path``) so the training script can read them from JSONL.
    """
    if family not in _BUILT:
        folder = root / f"tiny-{family}"
        folder.mkdir(parents=True, exist_ok=True)
        coords = "qwen25vl" if family == "qwen25vl" else "norm1000"
        rows = detection_rows(data_dir, coords=coords, tmp_dir=folder)
        path = build_tiny_model(folder / "model", family, warm_start=rows, warm_start_steps=80)
        _BUILT[family] = (path, rows)
    return _BUILT[family]
