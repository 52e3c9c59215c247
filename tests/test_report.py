"""Report building blocks: image headers, histograms, reservoir sampling, escaping."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from visual_rewards.report import ReportData, collect, render_html, svg_histogram

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "data"


def test_svg_histogram() -> None:
    svg = svg_histogram([0.0, 0.5, 0.5, 1.0], "total", bins=4)
    assert svg.count("<rect") == 4 and "n=4" in svg and "mean=0.500" in svg
    assert "no data" in svg_histogram([], "empty")
    assert svg_histogram([2.0, 2.0], "flat").count("<rect") == 20


def test_collect_reservoir(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    rows = [{"i": i, "scores": {"total": i / 100, "components": {"iou": 0.5}}} for i in range(100)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"i": -1}\nbroken\n')
    data = collect(path, sample_size=10, seed=0)
    assert data.n_rows == 100 and data.unscored == 1 and len(data.errors) == 1
    assert len(data.sample) == 10 and len({ln for ln, _ in data.sample}) == 10
    assert [ln for ln, _ in data.sample] == sorted(ln for ln, _ in data.sample)
    assert len(data.totals) == 100 and data.components["iou"] == [0.5] * 100
    assert collect(path, sample_size=10, seed=0).sample == data.sample
    assert collect(path, sample_size=10, seed=1).sample != data.sample


def test_render_escapes_model_text() -> None:
    row = {
        "completion": "<think><script>alert(1)</script></think><answer>[0, 0, 10, 10]</answer>",
        "solution": [0, 0, 10, 10],
        "scores": {"reward": "x", "total": 1.0, "components": {"iou": 1.0}},
    }
    page = render_html(ReportData(n_rows=1, totals=[1.0], sample=[(1, row)]), title="t <b>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "t &lt;b&gt;" in page
    assert "no image" in page


def test_collect_only_filter(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    rows = [
        {"i": i, "scores": {"total": None if i % 10 == 0 else 1.0, "parse_failed": i % 4 == 0}}
        for i in range(100)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    failed = collect(path, sample_size=100, only="parse_failed")
    assert [row["i"] for _, row in failed.sample] == list(range(0, 100, 4))
    na = collect(path, sample_size=3, only="not_applicable", seed=2)
    assert len(na.sample) == 3 and all(row["i"] % 10 == 0 for _, row in na.sample)
    assert len(na.totals) == 90  # histograms keep every applicable row
    with pytest.raises(ValueError, match="only must be one of"):
        collect(path, only="nope")


# ---------------------------------------------------------------------------------------------
# Safety: the XSS family and the path-traversal family (issue 14)
# ---------------------------------------------------------------------------------------------

_SAFE_URI = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/gif;base64,",
             "data:image/webp;base64,", "#line-")  # fmt: skip


class _Audit(HTMLParser):
    """Collects what would run or load: script elements, on* attributes, URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.handlers: list[str] = []
        self.urls: list[str] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "base", "form"):
            self.scripts += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name in ("href", "src", "xlink:href", "action", "srcset", "formaction"):
                self.urls.append(value or "")
            if tag == "meta" and name == "content" and "script-src" in (value or ""):
                self.csp.append(value or "")


def _audit(page: str) -> _Audit:
    audit = _Audit()
    audit.feed(page)
    assert audit.scripts == 0, "a script-capable element reached the page"
    assert audit.handlers == [], audit.handlers
    bad = [u for u in audit.urls if not u.startswith(_SAFE_URI)]
    assert bad == [], bad
    assert (
        audit.csp and "script-src 'none'" in audit.csp[0] and "default-src 'none'" in audit.csp[0]
    )
    return audit


def _png_bytes(size: tuple[int, int] = (8, 6)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (0, 128, 255)).save(buf, format="PNG")
    return buf.getvalue()


XSS = [
    "<script>document.title='x'</script>",
    '"><img src=x onerror="document.title=1">',
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "<a href='javascript:alert(1)'>x</a>",
    "</pre></section><iframe src=//evil>",
    "<style>@import 'http://evil/x.css'</style>",
]


@pytest.mark.parametrize("payload", XSS)
def test_xss_payloads_in_every_field_are_inert(payload: str, tmp_path: Path) -> None:
    row = {
        "task": payload,
        "image": payload,
        "completion": f"<think>{payload}</think><answer>{payload}</answer>",
        "solution": f"<answer>{payload}</answer>",
        "scores": {
            "reward": payload,
            "total": payload,
            "components": {payload: 1.0, "iou": payload},
            "parse_failed": True,
            "parse_errors": [payload],
        },
    }
    data = ReportData(n_rows=1, totals=[1.0], components={payload: [1.0]}, sample=[(1, row)])
    page = render_html(data, title=payload, root=tmp_path, notes=[payload])
    _audit(page)
    assert html.escape(payload) in page or "&lt;" in page


@pytest.mark.parametrize(
    "uri",
    [
        "data:image/png;base64,A\"/><script>document.title='x'</script><rect x=\"",
        "data:text/html;base64," + base64.b64encode(b"<script>alert(1)</script>").decode(),
        "data:image/svg+xml;base64,"
        + base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>").decode(),
        "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\nnot really").decode(),
        "data:,<script>alert(1)</script>",
    ],
)
def test_data_uris_are_refused_unless_they_decode(uri: str, tmp_path: Path) -> None:
    row = {"image": uri, "completion": "x", "scores": {"total": 0.0}}
    page = render_html(ReportData(n_rows=1, sample=[(1, row)]), title="t", root=tmp_path)
    _audit(page)
    assert "image not shown" in page and "<image " not in page


def test_a_valid_data_uri_is_re_encoded_from_its_pixels(tmp_path: Path) -> None:
    original = _png_bytes() + b"<script>trailing bytes</script>"
    uri = "data:image/png;base64," + base64.b64encode(original).decode()
    row = {"image": uri, "completion": "x", "scores": {"total": 0.0}}
    page = render_html(ReportData(n_rows=1, sample=[(1, row)]), title="t", root=tmp_path)
    audit = _audit(page)
    (embedded,) = [u for u in audit.urls if u.startswith("data:")]
    raw = base64.b64decode(embedded.partition(",")[2])
    assert raw != original and b"script" not in raw
    with Image.open(io.BytesIO(raw)) as im:
        assert im.size == (8, 6)


def _traversal_setup(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.png"
    secret.write_bytes(_png_bytes((5, 5)))
    (root / "inside.png").write_bytes(_png_bytes((7, 3)))
    (root / "link.png").symlink_to(secret)
    (root / "linkdir").symlink_to(tmp_path)
    (root / "notes.txt").write_text("API_KEY=hunter2")
    return root, secret


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("../secret.png", "outside the image root"),
        ("linkdir/secret.png", "outside the image root"),
        ("link.png", "outside the image root"),
        ("/etc/passwd", "outside the image root"),
        ("/proc/self/environ", "outside the image root"),
        ("/dev/zero", "outside the image root"),
        ("/dev/urandom", "outside the image root"),
        ("SECRET_ABSOLUTE", "outside the image root"),
        ("notes.txt", "not a readable image"),
        ("bad\x00name.png", "NUL byte"),
        (".", "not a regular file"),
    ],
)
def test_path_traversal_family_is_refused(image: str, reason: str, tmp_path: Path) -> None:
    root, secret = _traversal_setup(tmp_path)
    if image == "SECRET_ABSOLUTE":
        image = str(secret)
    row = {"image": image, "completion": "x", "scores": {"total": 0.0}}
    page = render_html(ReportData(n_rows=1, sample=[(1, row)]), title="t", root=root)
    audit = _audit(page)
    assert not [u for u in audit.urls if u.startswith("data:")]
    assert reason in page
    assert "hunter2" not in page and base64.b64encode(secret.read_bytes()).decode() not in page


def test_devices_and_proc_are_refused_even_with_the_whole_disk_as_root(tmp_path: Path) -> None:
    for image in ("/dev/zero", "/dev/urandom", "/proc/self/environ", "/proc/self/cmdline"):
        row = {"image": image, "completion": "x", "scores": {"total": 0.0}}
        page = render_html(ReportData(n_rows=1, sample=[(1, row)]), title="t", root=Path("/"))
        assert "image not shown" in page and "<image " not in page


def test_an_image_inside_the_root_is_embedded(tmp_path: Path) -> None:
    root, _ = _traversal_setup(tmp_path)
    row = {"image": "inside.png", "completion": "x", "scores": {"total": 0.0}}
    page = render_html(ReportData(n_rows=1, sample=[(1, row)]), title="t", root=root)
    audit = _audit(page)
    assert any(u.startswith("data:image/png;base64,") for u in audit.urls)


MALFORMED_ROWS = [
    {"image_size": [0, 0]},
    {"image_size": ["a", "b"]},
    {"image_size": [1e300, 1e300]},
    {"image_size": 5},
    {"scores": {"total": 1.0, "components": [0.5, 0.2]}},
    {"scores": {"total": 1.0, "parse_errors": 7}},
    {"scores": {"total": 1.0, "parse_errors": [None, {"a": 1}]}},
    {"scores": {"total": "high", "reward": ["x"]}},
    {"scores": {"total": 1.0, "components": {"iou": "0.5"}}},
    {"image": "bad\x00path.png"},
    {"image": 42},
    {"completion": 17},
    {"completion": [{"role": "assistant"}]},
    {"solution": {"boxes": "nope"}},
    {"solution": [[1, 2]], "task": "detection"},
    {"task": ["detection"]},
    {
        "scores": {"total": 1.0, "reward": "detection_default"},
        "solution": "<answer>[1e308,0,1e308,5]</answer>",
        "completion": "<answer>[0,0,-5,1e308]</answer>",
        "image_size": [10, 10],
    },
]


@pytest.mark.parametrize("extra", MALFORMED_ROWS)
def test_malformed_rows_become_cards_not_crashes(extra: dict[str, object], tmp_path: Path) -> None:
    row = {
        "completion": "<answer>[0,0,10,10]</answer>",
        "scores": {"total": 1.0},
        "task": "detection",
    }
    row.update(extra)
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(row) + "\n")
    data = collect(path, sample_size=5)
    page = render_html(data, title="t", root=tmp_path)
    _audit(page)
    assert page.count('class="row') == 1


def test_a_row_that_cannot_render_is_an_error_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from visual_rewards import report

    def explode(row: object, *args: object) -> object:
        if row == {"completion": "bad", "scores": {}}:
            raise RuntimeError("<b>boom</b>")
        return None, None, "no image"

    monkeypatch.setattr(report, "_image_uri", explode)
    rows = [(1, {"completion": "bad", "scores": {}}), (2, {"completion": "x", "scores": {}})]
    page = render_html(ReportData(n_rows=2, sample=rows), title="t", root=tmp_path)
    _audit(page)
    assert 'class="row errcard" id="line-1"' in page and "&lt;b&gt;boom&lt;/b&gt;" in page
    assert '<section class="row" id="line-2"' in page


def test_summary_orderings_and_metrics_sections(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    rows = [
        {"task": "detection", "completion": "x", "scores": {"reward": "detection_default",
         "total": t, "components": {"iou": t / 2, "format": 1.0}, "parse_failed": t == 0,
         "parse_errors": ["no boxes found"] if t == 0 else None, "truncated": False}}
        for t in (0.0, 1.5, 0.5)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    data = collect(path)
    metrics = {"task": "detection", "stats": {"AP": 0.25, "AP50": 0.5}, "input_errors": []}
    page = render_html(data, title="t", root=tmp_path, metrics=metrics)
    _audit(page)
    assert "<h2>Summary</h2>" in page and "<td>stats.AP</td><td>0.2500</td>" in page
    assert "no boxes found" in page and "parse failed" in page
    by_total = page.split("by total, highest first</summary><p>")[1].split("</p>")[0]
    assert re.findall(r"#line-(\d+)", by_total) == ["2", "3", "1"]
    assert page.count('class="hist"') == 3  # total, format, iou: one per series
