"""Files: atomic writes, and image files read safely.

Image files named by input rows are untrusted. :func:`read_image_file` is the one way the
applications read them:

* the path is resolved (symlinks included) and must lie inside the image root, when one is
  given (:func:`resolve_in_root`);
* only a regular file is read (not ``/dev/zero``, a FIFO or a folder), up to a byte limit;
* the bytes must decode as an image with Pillow (header and pixels, within a pixel limit).

:func:`image_file_size` reads only the header. Pillow is imported on first use (the ``data``
and ``report`` extras install it).
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "ImageFileError",
    "LoadedImage",
    "atomic_writer",
    "decode_image_bytes",
    "image_file_size",
    "read_image_file",
    "resolve_in_root",
]

#: Largest image file read (bytes).
MAX_IMAGE_BYTES = 64 << 20
#: Largest image decoded (width * height), against decompression bombs.
MAX_IMAGE_PIXELS = 64_000_000
#: Formats whose bytes may be embedded as they are (anything else is re-encoded as PNG).
EMBEDDABLE = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class ImageFileError(ValueError):
    """An image that may not or cannot be read; the message names the path and the reason."""


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image file.

    Attributes:
        data: the file's bytes.
        size: ``(width, height)`` in pixels.
        format: Pillow's format name (``"PNG"``, ``"JPEG"``, ...).
    """

    data: bytes
    size: tuple[int, int]
    format: str


def _pil() -> Any:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading images needs Pillow: pip install 'visual-rewards[data]'"
        ) from None
    return Image


def resolve_in_root(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> Path:
    """The real path of ``path`` (relative paths are under ``root``), if it lies inside ``root``.

    Both are resolved with :func:`os.path.realpath`, so a symlink that points out of the
    root is refused like ``../`` or an absolute path elsewhere. Raises :class:`ImageFileError`.

    >>> import tempfile
    >>> root = tempfile.mkdtemp()
    >>> resolve_in_root("a/b.png", root) == Path(os.path.realpath(root)) / "a" / "b.png"
    True
    >>> resolve_in_root("../x.png", root)
    Traceback (most recent call last):
    ...
    visual_rewards.io.files.ImageFileError: ../x.png: outside the image root
    """
    text = os.fspath(path)
    if "\x00" in text:
        raise ImageFileError(f"{text!r}: NUL byte in the path")
    real_root = os.path.realpath(root)
    joined = text if os.path.isabs(text) else os.path.join(real_root, text)
    real = os.path.realpath(joined)
    if os.path.commonpath([real_root, real]) != real_root:
        raise ImageFileError(f"{text}: outside the image root")
    return Path(real)


def _read_regular(path: Path, shown: str, max_bytes: int) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImageFileError(f"{shown}: cannot open ({exc.strerror})") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ImageFileError(f"{shown}: not a regular file")
    if info.st_size > max_bytes:
        os.close(fd)
        raise ImageFileError(f"{shown}: {info.st_size:,} bytes, over the {max_bytes:,} limit")
    with os.fdopen(fd, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageFileError(f"{shown}: over the {max_bytes:,} byte limit")
    return data


def decode_image_bytes(
    data: bytes, shown: str = "image", max_pixels: int = MAX_IMAGE_PIXELS
) -> LoadedImage:
    """Decode ``data`` fully with Pillow; :class:`ImageFileError` when it is not an image.

    >>> decode_image_bytes(b"not an image", "x")
    Traceback (most recent call last):
    ...
    visual_rewards.io.files.ImageFileError: x: not a readable image
    """
    image_mod = _pil()
    try:
        with image_mod.open(io.BytesIO(data)) as im:
            width, height = (int(v) for v in im.size)
            if width < 1 or height < 1 or width * height > max_pixels:
                raise ImageFileError(f"{shown}: {width}x{height} pixels is out of range")
            fmt = str(im.format or "")
            im.load()
    except ImageFileError:
        raise
    except Exception:  # Pillow raises many types on hostile bytes
        raise ImageFileError(f"{shown}: not a readable image") from None
    return LoadedImage(data=data, size=(width, height), format=fmt)


def read_image_file(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> LoadedImage:
    """Read and decode an image file (see the module docstring); :class:`ImageFileError` if not.

    ``root``: the folder the file must lie in (relative paths are under it); None reads any
    path (for paths the user gave on the command line, not paths from input rows).
    """
    shown = os.fspath(path)
    if "\x00" in shown:
        raise ImageFileError(f"{shown!r}: NUL byte in the path")
    real = resolve_in_root(path, root) if root is not None else Path(os.path.realpath(path))
    return decode_image_bytes(_read_regular(real, shown, max_bytes), shown, max_pixels)


def image_file_size(
    source: str | os.PathLike[str] | bytes, *, max_bytes: int = MAX_IMAGE_BYTES
) -> tuple[int, int]:
    """``(width, height)`` of an image file or its bytes, from the header (Pillow).

    A path must name a regular file of at most ``max_bytes``. Raises :class:`ImageFileError`.

    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (64, 32)).save(buf, format="PNG")
    >>> image_file_size(buf.getvalue())
    (64, 32)
    """
    if isinstance(source, (bytes, bytearray)):
        data, shown = bytes(source), "image bytes"
    else:
        shown = os.fspath(source)
        data = _read_regular(Path(os.path.realpath(source)), shown, max_bytes)
    image_mod = _pil()
    try:
        with image_mod.open(io.BytesIO(data)) as im:
            width, height = (int(v) for v in im.size)
    except Exception:  # Pillow raises many types on hostile bytes
        raise ImageFileError(f"{shown}: not a readable image") from None
    return width, height


class atomic_writer:
    """Write a text file through a temporary sibling, renamed into place on success only.

    The temporary file is removed when the block raises (``KeyboardInterrupt`` and the
    CLI's termination signal included), so an interrupted run leaves no file behind.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_writer(p) as f:
    ...     _ = f.write("done")
    >>> p.read_text()
    'done'
    """

    def __init__(self, path: Path | str, tmp: Path | str | None = None) -> None:
        self.path = Path(path)
        self.tmp = (
            Path(tmp)
            if tmp is not None
            else self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        )
        self._file: IO[str] | None = None

    def __enter__(self) -> IO[str]:
        self._file = open(self.tmp, "w", encoding="utf-8", newline="\n")
        return self._file

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        assert self._file is not None
        try:
            if exc_type is None:
                self._file.flush()
                os.fsync(self._file.fileno())
            self._file.close()
            if exc_type is None:
                os.replace(self.tmp, self.path)
        finally:
            if self.tmp.exists():
                self.tmp.unlink()
