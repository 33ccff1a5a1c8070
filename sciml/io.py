"""Files the toolkit writes: atomically, and read back without pickle.

Atomic writes: a file is either its old content or its complete new content.

Every file the toolkit writes goes through here. The new content is written to a temporary
file in the target's directory (same filesystem, so the rename is atomic), flushed to disk,
then renamed onto the target with `os.replace`. A crash or an exception at any point before
the rename leaves the target untouched and removes the temporary file.

Checkpoints: one file, a JSON header line (step, history, user metadata) followed by the
leaves of a PyTree written with `equinox.tree_serialise_leaves`. No pickle: loading a
checkpoint cannot run code. PRNG keys are stored as their raw key data.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import equinox as eqx
import jax

__all__ = ["IntegrityError", "atomic_path", "atomic_write_bytes", "atomic_write_text",
           "check_writable_dir", "load_checkpoint", "save_checkpoint"]

TMP_SUFFIX = ".tmp"


class IntegrityError(ValueError):
    """A file the toolkit wrote no longer matches the checksums it recorded (corrupted,
    truncated, extended or edited). `path` is the file; `what` names the part that differs
    (a variable, a leaf, the header) when it can be told, else None."""

    def __init__(self, message: str, *, path: str | os.PathLike[str], what: str | None = None):
        super().__init__(message)
        self.path = Path(path)
        self.what = what


def check_writable_dir(path: str | os.PathLike[str], what: str = "directory") -> Path:
    """Create `path` (and its parents) if missing and check that files can be created in it.

    Call it before any long computation whose results go there, so that a bad path fails in
    a second, not after an hour.

    Raises:
        NotADirectoryError: `path` or one of its parents is a file.
        PermissionError: the directory cannot be created or written.
        OSError: any other failure (read-only or full filesystem...), naming `what` and `path`.
    """
    path = Path(path).expanduser()
    try:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{what} {path} is a file, not a directory; "
                                     "pass a directory path")
        path.mkdir(parents=True, exist_ok=True)
        tmp = _create_temp(path / "write-check")
        tmp.unlink()
    except NotADirectoryError as e:
        if str(path) in str(e) and what in str(e):
            raise
        raise NotADirectoryError(f"{what} {path} cannot be created: a parent is a file "
                                 f"({e.strerror or e})") from None
    except PermissionError as e:
        raise PermissionError(f"{what} {path} is not writable ({e.strerror or e}); "
                              "choose another path or fix its permissions") from None
    except OSError as e:
        raise type(e)(e.errno, f"{what} {path} cannot be written ({e.strerror or e})") from None
    return path


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


_MAGIC = "sciml-checkpoint-v1"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _raw(tree: Any) -> Any:
    return jax.tree.map(lambda x: jax.random.key_data(x) if _is_key(x) else x, tree)


def save_checkpoint(path: str | Path, tree: Any, meta: dict[str, Any]) -> None:
    """Write `tree`'s array leaves and JSON-able `meta` to `path` atomically (no pickle)."""
    header = json.dumps({"format": _MAGIC, **meta}, allow_nan=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode() + b"\n")
        eqx.tree_serialise_leaves(f, _raw(tree))


def load_checkpoint(path: str | Path, like: Any) -> tuple[Any, dict[str, Any]]:
    """Read a checkpoint written by `save_checkpoint` into the structure of `like`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not a sciml checkpoint or does not match `like`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    with open(path, "rb") as f:
        try:
            meta = json.loads(f.readline())
        except (json.JSONDecodeError, UnicodeDecodeError):
            meta = None
        if not isinstance(meta, dict) or meta.get("format") != _MAGIC:
            raise ValueError(f"{path} is not a sciml checkpoint (expected header {_MAGIC!r})")
        try:
            raw = eqx.tree_deserialise_leaves(f, _raw(like))
        except Exception as e:  # equinox raises several types on a structure mismatch
            raise ValueError(
                f"checkpoint {path} does not match the model/optimiser it is loaded into: {e}"
            ) from e
    tree = jax.tree.map(lambda r, x: jax.random.wrap_key_data(r, impl=jax.random.key_impl(x))
                        if _is_key(x) else r, raw, like)
    return tree, meta
