"""Turn JSON lines in the paper's format into a veRL parquet file (images embedded).

Each input line is one prompt: ``{"image": <path>, "problem": <prompt text>,
"solution": <ground truth>, "task": <reward task>, "metadata": {...}}`` -- what
``visual-rewards build-dataset ... --jsonl FILE`` writes, or the Visual-RFT datasets exported
to JSON lines. ``task`` may be left out when ``--task`` is given.

    python integrations/verl/prepare_data.py --input train.jsonl --output data/train.parquet \
        --image-root /data/coco/train2017 --max-pixels 401408

``--max-pixels`` is stored with every image; veRL's vision loader resizes each image into
that pixel budget (the paper's scripts use 401408 = 512 * 28 * 28).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from visual_rewards.verl import write_verl_parquet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="JSON lines, one prompt per line")
    parser.add_argument("--output", required=True, help="parquet file to write")
    parser.add_argument("--task", help="reward task of lines that name none (e.g. detection)")
    parser.add_argument("--image-root", help="folder relative image paths are under")
    parser.add_argument("--split", default="train", help="stored in extra_info.split")
    parser.add_argument("--data-source", help="data_source (default visual_rewards/<task>)")
    parser.add_argument("--system-prompt", help="optional system message")
    parser.add_argument("--max-pixels", type=int, default=401408, help="0 to leave images as is")
    args = parser.parse_args(argv)

    rows = []
    with open(args.input, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    print(f"{args.input}:{number}: not JSON: {exc}", file=sys.stderr)
                    return 2
    out = write_verl_parquet(
        rows,
        Path(args.output),
        task=args.task,
        split=args.split,
        data_source=args.data_source,
        image_root=args.image_root,
        system_prompt=args.system_prompt,
        max_pixels=args.max_pixels or None,
    )
    print(f"wrote {len(rows)} rows to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
