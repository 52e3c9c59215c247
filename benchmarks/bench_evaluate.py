"""COCO and LVIS evaluation: time, peak memory and stats against pycocotools, lvis-api and
faster-coco-eval, on seeded synthetic sets made to look like COCO val2017 and LVIS val.

Every engine runs in its own fresh process on the same JSON files, so peak memory
(``ru_maxrss``) is its own: the parsed input plus what the engine builds. Times are the
engine's alone (from parsed JSON to the stats), wall clock and CPU time of the process; the
ratios use CPU time, which a machine shared with other jobs disturbs least. Each row also
says how many of the stats equal the judge's exactly (pycocotools for COCO, lvis-api for
LVIS).

Run::

    python benchmarks/bench_evaluate.py            # COCO 1,500 and 5,000 images, LVIS 1,000
                                                   # and 5,000 images (~1M detections)
    python benchmarks/bench_evaluate.py --small    # quick: COCO 300, LVIS 200 images

Needs pycocotools, lvis and faster-coco-eval for the comparison rows (missing ones are
skipped). Targets (issue 20): COCO <= 1.1x faster-coco-eval's time, LVIS <= 0.67x, the
same stats as the judges, under 2 GiB for 1M LVIS detections.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

import numpy as np
from detection_sets import coco_set, lvis_set

#: Issue 20: our time over faster-coco-eval's, at most.
TARGETS = {"coco": 1.1, "lvis": 0.67}
LVIS_NAMES = ["AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf"]
LVIS_NAMES += ["AR@300", "ARs@300", "ARm@300", "ARl@300"]
FCE_LVIS = ["AP_all", "AP_50", "AP_75", "AP_small", "AP_medium", "AP_large", "APr", "APc"]
FCE_LVIS += ["APf", "AR_all", "AR_small", "AR_medium", "AR_large"]


# ---------------------------------------------------------------------------------------------
# Engines (each runs in a child process; returns the stats as a list of floats)
# ---------------------------------------------------------------------------------------------


def ours_coco(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[float]:
    from visual_rewards.evaluation import coco_evaluate

    return list(coco_evaluate(gt, dts).stats.values())


def ours_lvis(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[float]:
    from visual_rewards.evaluation import lvis_evaluate

    stats = lvis_evaluate(gt, dts).stats
    return [stats[k] for k in LVIS_NAMES]


def pycocotools_coco(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(dts), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats]


def fce_coco(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[float]:
    from faster_coco_eval import COCO, COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        ev = COCOeval_faster(coco, coco.loadRes(dts), "bbox", print_function=lambda *a: None)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return [float(v) for v in ev.stats[:12]]


def lvis_api(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[float]:
    from lvis import LVIS, LVISEval

    logging.getLogger("lvis").setLevel(logging.ERROR)
    lvis_gt = LVIS.__new__(LVIS)
    lvis_gt.logger = logging.getLogger("lvis")
    lvis_gt.dataset = gt
    lvis_gt._create_index()
    ev = LVISEval(lvis_gt, dts, "bbox")
    ev.run()
    return [float(ev.results[k]) for k in LVIS_NAMES]


def limit_per_image(dts: list[dict[str, Any]], top: int = 300) -> list[dict[str, Any]]:
    """LVIS's 300-per-image limit, which faster-coco-eval leaves to the caller."""
    by_img: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for d in dts:
        by_img[d["image_id"]].append(d)
    out = []
    for anns in by_img.values():
        out.extend(sorted(anns, key=lambda d: d["score"], reverse=True)[:top])
    return out


def fce_lvis(gt: dict[str, Any], dts: list[dict[str, Any]]) -> list[float]:
    from faster_coco_eval import COCO, COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        ev = COCOeval_faster(
            coco, coco.loadRes(dts), "bbox", lvis_style=True, print_function=lambda *a: None
        )
        ev.params.maxDets = [300]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = ev.stats_as_dict
    stats = stats() if callable(stats) else stats
    return [float(stats[k]) for k in FCE_LVIS]


ENGINES: dict[str, Callable[[dict[str, Any], list[dict[str, Any]]], list[float]]] = {
    "ours-coco": ours_coco,
    "pycocotools": pycocotools_coco,
    "faster-coco-eval-coco": fce_coco,
    "ours-lvis": ours_lvis,
    "lvis-api": lvis_api,
    "faster-coco-eval-lvis": fce_lvis,
}


#: Imported before the clock starts: the engines' own import time is not evaluation time.
MODULES = {
    "ours-coco": ["visual_rewards.evaluation"],
    "ours-lvis": ["visual_rewards.evaluation"],
    "pycocotools": ["pycocotools.coco", "pycocotools.cocoeval"],
    "faster-coco-eval-coco": ["faster_coco_eval"],
    "faster-coco-eval-lvis": ["faster_coco_eval"],
    "lvis-api": ["lvis"],
}


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child(engine: str, gt_path: str, dt_path: str) -> None:
    """Load the set, run one engine once, print a JSON line with its figures."""
    import importlib

    if engine == "lvis-api":
        setattr(np, "float", float)  # noqa: B010 - lvis-api predates numpy 2
    for module in MODULES[engine]:
        importlib.import_module(module)
    gt = json.loads(Path(gt_path).read_text())
    dts = json.loads(Path(dt_path).read_text())
    if engine == "faster-coco-eval-lvis":
        dts = limit_per_image(dts)  # not timed: the caller's job with this engine
    gc.collect()
    base = _rss_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    stats = ENGINES[engine](gt, dts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        json.dumps({"wall": wall, "cpu": cpu, "peak": _rss_bytes(), "base": base, "stats": stats})
    )


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def run_engine(engine: str, gt_path: Path, dt_path: Path, repeat: int) -> dict[str, Any] | None:
    best: dict[str, Any] | None = None
    for _ in range(repeat):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", engine, str(gt_path), str(dt_path)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"  {engine}: skipped ({last[:120]})")
            return None
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or res["cpu"] < best["cpu"]:
            best = res
    return best


def same(a: list[float], b: list[float]) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))


def bench_set(
    kind: str, n_images: int, repeat: int, tmp: Path, engines: list[str], judge: str
) -> dict[str, Any]:
    if kind == "coco":  # ~21 detections an image, as a COCO val2017 run kept at score > 0.05
        gt, dts = coco_set(n_images, seed=2026)
    else:  # ~200 an image, 1M at 5,000 images: LVIS val runs keep 300 an image
        gt, dts = lvis_set(n_images, seed=2026, dets_per_image=180)
    gt_path, dt_path = tmp / f"{kind}{n_images}_gt.json", tmp / f"{kind}{n_images}_dt.json"
    gt_path.write_text(json.dumps(gt))
    dt_path.write_text(json.dumps(dts))
    title = f"{kind.upper()} {n_images:,} images, {len(gt['annotations']):,} ground truth, "
    print(f"\n## {title}{len(dts):,} detections")
    del gt, dts
    results = {e: run_engine(e, gt_path, dt_path, repeat) for e in engines}
    ref = results.get(judge)
    ours = results[engines[0]]
    fce = results.get(engines[2])
    print(
        "| engine | wall s | CPU s | peak RSS GiB | + over input GiB | stats = judge | CPU vs ours |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        if r is None:
            continue
        eq = f"{same(r['stats'], ref['stats'])}/{len(r['stats'])}" if ref else "-"
        ratio = r["cpu"] / ours["cpu"] if ours else float("nan")
        print(
            f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['peak'] / 2**30:.2f} | "
            f"{(r['peak'] - r['base']) / 2**30:.2f} | {eq} | {ratio:.1f}x |"
        )
    if ours and fce:
        ratio = ours["cpu"] / fce["cpu"]
        target = TARGETS[kind]
        verdict = "met" if ratio <= target else "NOT met"
        print(f"ours / faster-coco-eval (CPU time): {ratio:.3f} (target <= {target}: {verdict})")
    if ours and ref:
        print(f"ours / {judge} (CPU time): {ours['cpu'] / ref['cpu']:.3f}")
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--small", action="store_true", help="small sets, for a quick run")
    ap.add_argument("--only", choices=["coco", "lvis"], help="one kind of set")
    ap.add_argument("--repeat", type=int, default=None, help="runs per engine (best CPU time)")
    args = ap.parse_args()
    sizes = (
        {"coco": (300,), "lvis": (200,)}
        if args.small
        else {"coco": (1500, 5000), "lvis": (1000, 5000)}
    )
    repeat = args.repeat or (3 if args.small else 1)
    print(f"load average: {os.getloadavg()}; CPUs: {os.cpu_count()}; repeat: {repeat}")
    with tempfile.TemporaryDirectory() as d:
        for kind in ("coco", "lvis"):
            if args.only and args.only != kind:
                continue
            if kind == "coco":
                engines = ["ours-coco", "pycocotools", "faster-coco-eval-coco"]
                judge = "pycocotools"
            else:
                engines = ["ours-lvis", "lvis-api", "faster-coco-eval-lvis"]
                judge = "lvis-api"
            for n in sizes[kind]:
                bench_set(kind, n, repeat, Path(d), engines, judge)
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
