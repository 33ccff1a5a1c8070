"""Atomic file writes: a file is either its old content or its complete new content.

Every file the toolkit writes goes through here. The new content is written to a temporary
file in the target's directory (same filesystem, so the rename is atomic), flushed to disk,
then renamed onto the target with `os.replace`. A crash or an exception at any point before
the rename leaves the target untouched and removes the temporary file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]

TMP_SUFFIX = ".tmp"


def _create_temp(path: Path) -> Path:
    """Create an empty, uniquely named hidden file next to `path` and return its path."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
        try:
            # O_EXCL claims the name; mode 0o666 lets the umask give the usual permissions
            # (tempfile.mkstemp would leave the final file readable by its owner only).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"could not create a temporary file next to {path}")


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    """Persist a rename in `path` (a directory); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write; move it onto `path` if the block succeeds.

    For writers that want a file name (`Figure.savefig`, `Dataset.to_netcdf`). The temporary
    file exists (empty) when the block starts, sits in `path`'s directory and has a different
    suffix, so pass the format explicitly to writers that infer it from the extension.

    On normal exit the file is fsynced and `os.replace`d onto `path`. If the block raises
    (including `KeyboardInterrupt`), `path` is left as it was and the temporary file removed.

    Args:
        path: the final file; its directory must exist.
    """
    path = Path(path)
    tmp = _create_temp(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically, encoded with `encoding` (see `atomic_path`)."""
    atomic_write_bytes(path, text.encode(encoding))
