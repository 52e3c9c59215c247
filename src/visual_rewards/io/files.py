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

import contextlib
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
    "ResumableOutput",
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


class ResumableOutput:
    """Output files written through hidden partial siblings, with a checkpoint journal.

    For a run that writes ``paths`` (e.g. the scored output and its errors file) in
    checkpointed steps:

    * each path is written to ``.<name>.partial`` beside it (binary, appended), locked with
      ``flock`` so that two runs cannot write the same output;
    * :meth:`commit` flushes every partial file and then atomically replaces the journal
      ``.<first name>.partial.json`` with the byte length of each file and the caller's
      ``state``, so the journal never points past bytes that are written;
    * :meth:`finish` renames the partial files into place (an empty one removes the target
      instead, when ``drop_empty``) and deletes the journal;
    * :meth:`abort` deletes every partial file and the journal, or keeps them (``keep``) so
      that a later run can :meth:`open` with ``resume=True`` and continue.

    ``identity`` (a JSON-ready dict: the input file, its size and mtime, the options) is
    stored in the journal; resuming with a different identity is a ``ValueError``.
    """

    def __init__(self, paths: list[Path], identity: dict[str, Any]) -> None:
        self.paths = [Path(p) for p in paths]
        self.partials = [p.with_name(f".{p.name}.partial") for p in self.paths]
        self.journal = self.paths[0].with_name(f".{self.paths[0].name}.partial.json")
        self.identity = identity
        self.files: list[IO[bytes]] = []

    def open(self, resume: bool) -> dict[str, Any] | None:
        """Open the partial files; return the journal's ``state`` when resuming, else None.

        Without ``resume`` (or without a journal), stale partial files of an earlier killed
        run are truncated. Raises ``ValueError`` when the journal belongs to another input
        or other options, ``OSError`` when another run holds the lock.
        """
        import fcntl
        import json

        record: dict[str, Any] | None = None
        if resume and self.journal.is_file():
            record = json.loads(self.journal.read_text(encoding="utf-8"))
            if record.get("identity") != self.identity:
                raise ValueError(
                    f"{self.journal}: the interrupted run had another input or other options; "
                    "run without --resume to start again"
                )
        for index, path in enumerate(self.partials):
            f = open(path, "a+b")  # noqa: SIM115 - closed in finish/abort
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                self._close()
                raise OSError(f"{self.paths[index]}: another run is writing it") from None
            f.truncate(record["sizes"][index] if record is not None else 0)
            f.seek(0, os.SEEK_END)
            self.files.append(f)
        if record is None and self.journal.exists():
            self.journal.unlink()
        return record["state"] if record is not None else None

    def commit(self, state: dict[str, Any]) -> None:
        """Checkpoint: flush every partial file, then record their sizes and ``state``."""
        import json

        for f in self.files:
            f.flush()
        record = {"identity": self.identity, "sizes": [f.tell() for f in self.files]}
        record["state"] = state
        tmp = self.journal.with_name(self.journal.name + ".tmp")
        tmp.write_text(json.dumps(record, allow_nan=False), encoding="utf-8")
        os.replace(tmp, self.journal)

    def finish(self, drop_empty: tuple[bool, ...] = ()) -> None:
        """Rename every partial file into place (fsynced first) and delete the journal."""
        for index, (f, partial, path) in enumerate(
            zip(self.files, self.partials, self.paths, strict=True)
        ):
            f.flush()
            os.fsync(f.fileno())
            empty = f.tell() == 0
            if index < len(drop_empty) and drop_empty[index] and empty:
                partial.unlink()
                if path.exists():
                    path.unlink()  # a stale file from an earlier run
            else:
                os.replace(partial, path)
        self._close()
        if self.journal.exists():
            self.journal.unlink()

    def abort(self, keep: bool) -> None:
        """Close; delete the partial files and the journal unless ``keep``."""
        for f in self.files:
            with contextlib.suppress(OSError):  # e.g. a full disk: the journal still holds
                f.flush()
        self._close()
        if keep:
            return
        for path in [*self.partials, self.journal]:
            if path.exists():
                path.unlink()

    def _close(self) -> None:
        for f in self.files:
            f.close()
        self.files = []
