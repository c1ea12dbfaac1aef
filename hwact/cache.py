"""hwact's one on-disk cache: compiled simulation models, Verilator objects, synthesis results,
netlists and solved plans, each kind in its own folder.

Where: ``$HWACT_CACHE_DIR``, else ``$XDG_CACHE_HOME/hwact``, else ``~/.cache/hwact``. Entries
are named by a hash of everything they are a function of, so a stale entry is never found, and
written atomically (a temporary file renamed into place), so concurrent test workers or
processes never read half an entry. Deleting the folder is always safe.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["atomic_copy", "atomic_write", "cache_dir", "load_json", "store_json"]


def cache_dir(kind: str | None = None) -> Path:
    """The cache root, or the folder of one kind of entry (``"soc-models"``, ``"synth"``, ...)."""
    base = os.environ.get("HWACT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "hwact")
    return Path(base) / kind if kind else Path(base)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file, or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode() if isinstance(data, str) else data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def atomic_copy(source: Path, path: Path) -> None:
    """Copy a file (mode included, e.g. an executable model) into the cache atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        shutil.copy2(source, temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def load_json(kind: str, key: str) -> Any | None:
    """The JSON entry ``key`` of ``kind``, or None when it is missing or unreadable."""
    try:
        return json.loads((cache_dir(kind) / f"{key}.json").read_text())
    except (OSError, ValueError):
        return None


def store_json(kind: str, key: str, value: Any) -> None:
    """Keep ``value`` as the JSON entry ``key`` of ``kind``; a cache that cannot be written is skipped."""
    try:
        atomic_write(cache_dir(kind) / f"{key}.json", json.dumps(value, sort_keys=True))
    except OSError:
        pass
