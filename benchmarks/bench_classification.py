"""Classification reward throughput on one core, against the 196 Stanford Cars labels.

Targets (issue 4): >= 200,000 completions/s with exact matching, >= 50,000/s with fuzzy
matching against the 196 Stanford Cars class names. Completions have a realistic 2-5 sentence
``<think>`` block; every figure is the best of 3 runs over 50,000 completions, including
``parse_completion``, ground-truth validation and result arrays.

Run: ``.venv/bin/python benchmarks/bench_classification.py`` (pins itself to one core; needs
``../shared/data/classnames/stanford_cars.txt``).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import THINK_SENTENCES, best_of, pin_one_core
from visual_rewards.rewards.classification import ClassificationReward

N = 50_000
CARS = Path(__file__).resolve().parents[2] / "shared/data/classnames/stanford_cars.txt"
TARGET_EXACT, TARGET_FUZZY = 200_000, 50_000


def completion(rng: random.Random, answer: str) -> str:
    think = " ".join(rng.choice(THINK_SENTENCES) for _ in range(rng.randint(2, 5)))
    return f"<think>{think}</think>\n<answer>{answer}</answer>"


def typo(rng: random.Random, name: str) -> str:
    """One random substitution, deletion, insertion or swap of neighbours."""
    i = rng.randrange(len(name) - 1)
    kind = rng.randrange(4)
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == 0:
        return name[:i] + letter + name[i + 1 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    if kind == 2:
        return name[:i] + letter + name[i:]
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


def main() -> None:
    if not CARS.is_file():
        sys.exit(f"class names not found at {CARS}")
    pin_one_core()
    labels = [line.strip() for line in CARS.read_text().splitlines() if line.strip()]
    rng = random.Random(0)
    truths = [rng.choice(labels) for _ in range(N)]

    def batch(kind: str) -> list[str]:
        out = []
        for t in truths:
            # "mix": half right, a quarter typos, a quarter another class
            kind_i = rng.choice(["right", "right", "typo", "wrong"]) if kind == "mix" else kind
            if kind_i == "right":
                answer = t if rng.random() < 0.5 else t.upper().replace(" ", "_")
            elif kind_i == "typo":
                answer = typo(rng, t)
            else:
                answer = rng.choice(labels)
            out.append(completion(rng, answer))
        return out

    right, mix, typos, wrong = batch("right"), batch("mix"), batch("typo"), batch("wrong")
    exact = ClassificationReward()
    exact_set = ClassificationReward(labels=CARS, fuzzy=False)
    fuzzy = ClassificationReward(labels=CARS)
    paper = ClassificationReward("visual_rft")
    rows = [
        ("exact, no label set, right answers", exact, right, TARGET_EXACT),
        ("exact, no label set, mixed answers", exact, mix, TARGET_EXACT),
        ("exact, 196-label set, mixed answers", exact_set, mix, TARGET_EXACT),
        ("fuzzy, 196 labels, right answers", fuzzy, right, TARGET_FUZZY),
        ("fuzzy, 196 labels, mixed answers", fuzzy, mix, TARGET_FUZZY),
        ("fuzzy, 196 labels, other-class answers", fuzzy, wrong, TARGET_FUZZY),
        ("fuzzy, 196 labels, every answer a typo", fuzzy, typos, TARGET_FUZZY),
        ("visual_rft preset (paper rule)", paper, mix, 0),
    ]
    print(f"ClassificationReward.score, {N:,} completions per batch, one core, best of 3")
    for name, reward, comps, target in rows:
        mean = float(reward.score(comps, truths).components["accuracy"].mean())
        seconds = best_of(lambda r=reward, c=comps: r.score(c, truths))
        rate = N / seconds
        verdict = "" if not target else ("  ok" if rate >= target else f"  BELOW {target:,}")
        print(f"  {name:<42} {rate:>10,.0f} completions/s  (accuracy {mean:.3f}){verdict}")


if __name__ == "__main__":
    main()
