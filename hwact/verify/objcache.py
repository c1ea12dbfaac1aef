"""A compiler cache for Verilator's run-time library, used as Verilator's ``OBJCACHE``.

Every Verilator build under cocotb compiles the same run-time files (``verilated.cpp``,
``verilated_vpi.cpp``, ...) with the same flags: about 90 % of the build time of a unit. Make
runs ``$(OBJCACHE) $(CXX) ... -c -o OUT SOURCE`` for each object; this script, named there,
keeps the object of a run-time source (``verilated*.cpp``) keyed by
the whole command line and the compiler binary, and copies it back on the next build. Every
other compilation (the unit's own model, cocotb's ``verilator.cpp``) runs unchanged.

Usage (what make runs): ``python objcache.py CXX ARGS...``; the cache directory is
``$HWACT_OBJCACHE_DIR``. Any problem with the cache falls back to plain compilation.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path


def _cache_key(argv: list[str], output: str, source: Path) -> str | None:
    compiler = shutil.which(argv[0])
    if compiler is None:
        return None
    binary = Path(compiler).resolve()
    stat, source_stat = binary.stat(), source.stat()
    text = "\0".join([str(binary), str(stat.st_size), str(stat.st_mtime_ns), str(source), str(source_stat.st_size),
                      str(source_stat.st_mtime_ns), *(arg if arg != output else "<output>" for arg in argv[1:])])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def main(argv: list[str]) -> int:
    directory = os.environ.get("HWACT_OBJCACHE_DIR")
    try:
        output = argv[argv.index("-o") + 1]
        source = Path(argv[-1]).resolve()
        runtime = source.suffix == ".cpp" and source.name.startswith("verilated") and "-c" in argv
    except (ValueError, IndexError, OSError):
        runtime = False
    if not directory or not runtime:
        return subprocess.call(argv)
    try:
        key = _cache_key(argv, output, source)
    except OSError:
        key = None
    if key is None:
        return subprocess.call(argv)
    stored = Path(directory) / f"{key}.o"
    if stored.exists():
        try:
            shutil.copyfile(stored, output)  # a fresh mtime: newer than everything make compares it with
            return 0
        except OSError:
            pass
    status = subprocess.call(argv)
    if status == 0:
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            temp = stored.with_suffix(f".{os.getpid()}.tmp")
            shutil.copyfile(output, temp)
            os.replace(temp, stored)  # atomic: concurrent builds never see half an object
        except OSError:
            pass
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
