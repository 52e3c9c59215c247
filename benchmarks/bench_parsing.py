"""Parse throughput: ``parse_completion`` + ``parse_detections`` on Visual-RFT-style completions.

Run: ``.venv/bin/python benchmarks/bench_parsing.py`` (pins itself to one core).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import best_of, pin_one_core, visual_rft_completion
from visual_rewards import CoordConfig, parse_completion, parse_detections
from visual_rewards.parsing import parse_detections_batch

N = 20_000


def parse_all(texts: list[str]) -> int:
    n = 0
    for text in texts:
        n += len(parse_detections(parse_completion(text).answer))
    return n


def main() -> None:
    pin_one_core()
    rng = random.Random(0)
    texts = [visual_rft_completion(rng, rng.randint(0, 10)) for _ in range(N)]
    seconds = best_of(lambda: parse_all(texts))
    print(
        f"parse_completion + parse_detections, Visual-RFT style (0-10 boxes): {N / seconds:,.0f} completions/s"
    )
    cfg = CoordConfig("norm1000")
    seconds = best_of(
        lambda: parse_detections_batch([parse_completion(t).answer for t in texts], cfg)
    )
    print(
        f"parse_completion + parse_detections_batch (the rewards' path):  {N / seconds:,.0f} completions/s"
    )
    seconds = best_of(lambda: [parse_completion(t) for t in texts])
    print(
        f"parse_completion alone:                                          {N / seconds:,.0f} completions/s"
    )

    log = (
        Path(__file__).resolve().parents[2]
        / "shared/data/model_outputs/vlmr1_rec_qwen2.5vl3b_grpo_debug.txt"
    )
    if log.exists():
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
        from model_logs import load_log_completions

        real = load_log_completions(log.parents[1]) * 50
        seconds = best_of(
            lambda: [
                parse_detections(parse_completion(t).answer, "pixel", (10**5, 10**5)) for t in real
            ]
        )
        print(
            f"real Qwen2.5-VL GRPO log ({len(real)} completions):                    {len(real) / seconds:,.0f} completions/s"
        )


if __name__ == "__main__":
    main()
