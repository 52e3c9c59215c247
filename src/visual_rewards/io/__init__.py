"""Input and output shared by the applications and the adapters.

* :mod:`visual_rewards.io.rows` -- reading rows from JSONL/parquet (bounded line length) and
  finding a field in a row or its ``metadata``;
* :mod:`visual_rewards.io.files` -- atomic file writes and reading image files safely (regular
  files only, bounded size, decoded with Pillow);
* :mod:`visual_rewards.io.images` -- image sizes from dataset columns and in-memory objects.

The submodules are imported on demand (``from visual_rewards.io.rows import iter_rows``), so
importing this package costs nothing.
"""
