"""`visual-rewards report`: every sampled row and its image are in the page; it renders."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from visual_rewards.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"
CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def scored(tmp_path: Path) -> Path:
    """The bundled detection outputs, scored with the format reward (always registered)."""
    out = tmp_path / "scored.jsonl"
    code = main(
        ["score", str(EXAMPLES / "detection_outputs.jsonl"), "--task", "format", "-o", str(out)]
    )
    assert code == 0
    return out


def test_report_contains_sampled_rows_and_images(scored: Path, tmp_path: Path) -> None:
    html_path = tmp_path / "r.html"
    code = main(
        [
            "report",
            str(scored),
            "-o",
            str(html_path),
            "--sample",
            "5",
            "--seed",
            "3",
            "--image-root",
            str(EXAMPLES),
        ]
    )
    assert code == 0
    page = html_path.read_text()
    lines = [int(x) for x in re.findall(r'<section class="row" id="line-(\d+)"', page)]
    assert len(lines) == 5 and lines == sorted(lines)
    rows = scored.read_text().splitlines()
    for line_no in lines:
        row = json.loads(rows[line_no - 1])
        section = page.split(f'id="line-{line_no}"')[1].split("</section>")[0]
        image = base64.b64encode((EXAMPLES / row["image"]).read_bytes()).decode("ascii")
        assert f"data:image/png;base64,{image}" in section
        think = row["completion"].split("<think>")[1].split("</think>")[0]
        assert think in section
        assert f"total {row['scores']['total']:.4f}" in section
    assert "total reward (n=24" in page and "<svg" in page
    assert 'src="http' not in page and 'href="http' not in page  # self-contained


def test_report_sample_is_reproducible(scored: Path, tmp_path: Path) -> None:
    pages = []
    for name in ("a.html", "b.html"):
        out = tmp_path / name
        assert main(["report", str(scored), "-o", str(out), "--sample", "4", "--seed", "1"]) == 0
        pages.append(out.read_text())
    assert pages[0] == pages[1]


def test_report_png_note(scored: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    assert main(["report", str(scored), "-o", str(out), "--png-dir", str(tmp_path / "png")]) == 0
    page = out.read_text()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "PNG plots skipped" in page
    else:
        assert list((tmp_path / "png").glob("*.png"))


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    return str(CHROMIUM) if CHROMIUM.exists() else None


def test_report_renders_in_headless_chromium(scored: Path, tmp_path: Path) -> None:
    """A real browser: the page renders, no script runs (CSP), nothing sticks out sideways."""
    browser = _chromium()
    if browser is None:
        pytest.skip("headless Chromium is not installed")
    rows = scored.read_text().splitlines()
    hostile = json.loads(rows[0])
    hostile["completion"] = (
        "<think><script>document.title='pwned'</script></think><answer>x</answer>"
    )
    hostile["image"] = (
        "data:image/png;base64,A\"/><script>document.title='pwned'</script><rect x=\""
    )
    page_in = tmp_path / "in.jsonl"
    page_in.write_text("\n".join([json.dumps(hostile), *rows[1:]]) + "\n")
    out = tmp_path / "r.html"
    argv = ["report", str(page_in), "-o", str(out), "--sample", "6", "--image-root", str(EXAMPLES)]
    assert main(argv) == 0
    args = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    args.append("--window-size=1000,1600")
    dom = subprocess.run(
        [*args, "--dump-dom", out.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('class="row"') == 6
    assert "pwned" not in dom.stdout.split("</title>")[0]  # no script ran
    # the CSP itself forbids script: a script smuggled into the page does not run
    smuggled = tmp_path / "smuggled.html"
    smuggled.write_text(
        out.read_text().replace("<body>", "<body><script>document.title='pwned'</script>", 1)
    )
    dom2 = subprocess.run(
        [*args, "--dump-dom", smuggled.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom2.returncode == 0 and "<script>" in dom2.stdout
    assert "<title>pwned</title>" not in dom2.stdout
    unprotected = tmp_path / "unprotected.html"  # the check would catch a running script
    unprotected.write_text(
        "<html><head><title>t</title></head><body><script>document.title='pwned'</script></body></html>"
    )
    dom3 = subprocess.run(
        [*args, "--dump-dom", unprotected.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "<title>pwned</title>" in dom3.stdout
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*args, f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120, check=False
    )
    assert shot.exists() and shot.stat().st_size > 10_000
    from PIL import Image

    with Image.open(shot) as im:
        rgb = im.convert("RGB")
        right = [
            rgb.getpixel((rgb.width - 1 - dx, y))
            for dx in range(4)
            for y in range(0, rgb.height, 7)
        ]
    assert all(p == (255, 255, 255) for p in right), "content overflows the window sideways"


def test_report_missing_input(tmp_path: Path) -> None:
    assert main(["report", str(tmp_path / "nope.jsonl")]) == 2


def test_report_draws_boxes_only_for_box_tasks(tmp_path: Path) -> None:
    scored = tmp_path / "cls.jsonl"
    src = EXAMPLES / "classification_outputs.jsonl"
    assert main(["score", str(src), "-o", str(scored)]) == 0
    out = tmp_path / "r.html"
    assert main(["report", str(scored), "-o", str(out), "--image-root", str(EXAMPLES)]) == 0
    page = out.read_text()
    assert page.count('class="row"') > 0
    assert "no boxes found" not in page and "stroke-dasharray" not in page
