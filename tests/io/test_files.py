"""visual_rewards.io.files: the one image-file reader and the atomic writer."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from visual_rewards.io.files import (
    ImageFileError,
    atomic_writer,
    image_file_size,
    read_image_file,
    resolve_in_root,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def _png(tmp_path: Path, name: str = "a.png", size: tuple[int, int] = (12, 7)) -> Path:
    path = tmp_path / name
    Image.new("RGB", size, (200, 10, 10)).save(path)
    return path


def test_image_file_size_png_jpeg_gif(shared_data: Path) -> None:
    assert image_file_size(EXAMPLES / "images" / "img_1.png") == (96, 64)
    assert image_file_size((shared_data / "coco_tiny" / "img_1.jpg").read_bytes()) == (256, 256)
    buf = io.BytesIO()
    Image.new("P", (16, 8)).save(buf, format="GIF")
    assert image_file_size(buf.getvalue()) == (16, 8)
    with pytest.raises(ImageFileError, match="not a readable image"):
        image_file_size(b"not an image")


def test_read_image_file_inside_root(tmp_path: Path) -> None:
    path = _png(tmp_path)
    image = read_image_file("a.png", root=tmp_path)
    assert image.size == (12, 7) and image.format == "PNG" and image.data == path.read_bytes()
    assert read_image_file(path, root=tmp_path).size == (12, 7)  # absolute, but inside


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../outside.png", "outside the image root"),
        ("/etc/passwd", "outside the image root"),
        ("link.png", "outside the image root"),
        ("sub/../../outside.png", "outside the image root"),
        ("bad\x00.png", "NUL byte"),
        ("dir", "not a regular file"),
        ("text.png", "not a readable image"),
        ("missing.png", "cannot open"),
    ],
)
def test_read_image_file_refuses(tmp_path: Path, name: str, reason: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "dir").mkdir()
    (root / "text.png").write_text("secret")
    outside = _png(tmp_path, "outside.png")
    (root / "link.png").symlink_to(outside)
    with pytest.raises(ImageFileError, match=reason):
        read_image_file(name, root=root)


def test_read_image_file_refuses_devices_and_proc(tmp_path: Path) -> None:
    for path in ("/dev/zero", "/proc/self/environ"):
        with pytest.raises(ImageFileError):
            read_image_file(path, root="/")  # even with the whole disk as root
    with pytest.raises(ImageFileError, match="not a regular file"):
        read_image_file("/dev/zero")


def test_read_image_file_byte_limit(tmp_path: Path) -> None:
    _png(tmp_path, size=(300, 300))
    with pytest.raises(ImageFileError, match="limit"):
        read_image_file("a.png", root=tmp_path, max_bytes=100)


def test_resolve_in_root_prefix_sibling(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root2").mkdir()
    with pytest.raises(ImageFileError):
        resolve_in_root("../root2/x.png", tmp_path / "root")


def test_atomic_writer_removes_temp_on_error(tmp_path: Path) -> None:
    out = tmp_path / "o.txt"

    def write() -> None:
        with atomic_writer(out) as f:
            f.write("partial")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write()
    assert os.listdir(tmp_path) == []
