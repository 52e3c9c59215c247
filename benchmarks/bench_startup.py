"""Start-up time of ``visual-rewards --help`` (and each subcommand's) against ``import numpy``.

The command line imports only argparse-level code and numpy before it parses arguments (the
libraries are imported when a command runs), so ``--help`` should cost about what importing
numpy costs. Target: ratio <= 1.5. Each command is run ``--repeat`` times in a fresh
interpreter; the best wall time counts (the machine's load only ever adds time). It also
lists the heavy modules each ``--help`` imports (there should be none).

Usage: ``python benchmarks/bench_startup.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: Modules heavier than numpy that ``--help`` must not import.
HEAVY = (
    "scipy", "pydantic", "rapidfuzz", "PIL", "pycocotools", "pyarrow", "tqdm", "matplotlib",
    "datasets", "torch", "visual_rewards.rewards", "visual_rewards.parsing",
    "visual_rewards.scoring", "visual_rewards.evaluation", "visual_rewards.data",
)  # fmt: skip
SUBCOMMANDS = ("", "score", "evaluate", "report", "build-dataset", "audit")

_PROBE = """
import sys
from visual_rewards.cli import main
try:
    main([a for a in sys.argv[1:] if a] + ["--help"])
except SystemExit:
    pass
heavy = sorted({m for m in sys.modules for h in HEAVY if m == h or m.startswith(h + ".")})
top = {".".join(m.split(".")[:2]) if m.startswith("visual_rewards") else m.split(".")[0] for m in heavy}
print("HEAVY=" + ",".join(sorted(top)))
"""


def _command(sub: str) -> list[str]:
    script = shutil.which("visual-rewards", path=str(Path(sys.executable).parent))
    head = [script] if script else [sys.executable, "-m", "visual_rewards.cli"]
    return [*head, *([sub] if sub else []), "--help"]


def best_time(cmd: list[str], repeat: int) -> float:
    """The best wall time of ``repeat`` runs of ``cmd`` (output discarded)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def heavy_imports(sub: str) -> list[str]:
    """The heavy modules (see :data:`HEAVY`) that ``visual-rewards SUB --help`` imports."""
    code = f"HEAVY = {HEAVY!r}\n{_PROBE}"
    out = subprocess.run(
        [sys.executable, "-c", code, sub], capture_output=True, text=True, check=True
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("HEAVY="))
    return [m for m in line[len("HEAVY=") :].split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    numpy = best_time([sys.executable, "-c", "import numpy"], args.repeat)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, best of {args.repeat}")
    print(f"{'command':<36} {'seconds':>8} {'x numpy':>8}  heavy imports")
    label = 'python -c "import numpy"'
    print(f"{label:<36} {numpy:8.3f} {1.0:8.2f}")
    worst = 0.0
    for sub in SUBCOMMANDS:
        seconds = best_time(_command(sub), args.repeat)
        ratio = seconds / numpy
        worst = max(worst, ratio)
        label = f"visual-rewards {sub} --help".replace("  ", " ")
        print(f"{label:<36} {seconds:8.3f} {ratio:8.2f}  {', '.join(heavy_imports(sub)) or '-'}")
    print(f"worst ratio {worst:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
