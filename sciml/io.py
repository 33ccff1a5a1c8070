"""Files the toolkit writes: atomically, and read back without pickle.

Atomic writes: a file is either its old content or its complete new content.

Every file the toolkit writes goes through here. The new content is written to a temporary
file in the target's directory (same filesystem, so the rename is atomic), flushed to disk,
then renamed onto the target with `os.replace`. A crash or an exception at any point before
the rename leaves the target untouched and removes the temporary file.

Integrity: every file the toolkit reads back carries SHA-256 checksums of its whole content
and of each part (a checkpoint's leaves, a dataset's variables), checked before the file is
parsed. Any change (a flipped bit, a truncation, appended bytes, an edit) raises
`IntegrityError` naming the file, the part that changed when it can be told, and the fix.

Checkpoints (`save_checkpoint`, `load_checkpoint`) are one file, no pickle, so loading one
cannot run code:

```
sciml-checkpoint-v2 size=<N> sha256=<hex> header=<hex>\n   checksums of what follows
{"meta": {...}, "leaves": [{"path", "dtype", "shape", "sha256"}, ...]}\n   JSON, one line
<the leaves' raw little-endian bytes, one after another>
```

`size` and `sha256` cover everything after the first line, `header` the JSON line alone (so
a damaged payload can still be read against the leaf table to name the leaf). Array leaves
(JAX, NumPy, Python numbers) are stored; other leaves are structure and come from the tree
loaded into. PRNG keys are stored as their raw key data.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["IntegrityError", "atomic_path", "atomic_write_bytes", "atomic_write_text",
           "check_writable_dir", "fsync_dir", "load_checkpoint", "save_checkpoint", "sha256_file",
           "sha256_ranges"]

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


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Persist the entries (a rename, a new file) of directory `path`; best effort, a no-op
    where directories cannot be opened (durability, not atomicity)."""
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
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: its directory {path.parent} does not "
                                "exist; create it first")
    try:
        tmp = _create_temp(path)
    except OSError as e:  # name the target, not the hidden temporary file
        raise type(e)(e.errno, f"cannot write {path} ({e.strerror or e})") from None
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically, encoded with `encoding` (see `atomic_path`)."""
    atomic_write_bytes(path, text.encode(encoding))



# --- checksums -----------------------------------------------------------------------------
def sha256_ranges(f: Any, ranges: Iterator[tuple[int, int]] | list[tuple[int, int]],
                  block: int = 1 << 20) -> str:
    """Hex SHA-256 of the bytes of the open binary file `f` in `ranges` ((offset, size)
    pairs, concatenated in order), read in blocks of `block` bytes."""
    h = hashlib.sha256()
    for offset, size in ranges:
        f.seek(offset)
        while size > 0:
            chunk = f.read(min(block, size))
            if not chunk:
                break  # past the end: the caller's size check reports it
            h.update(chunk)
            size -= len(chunk)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the whole file at `path`."""
    with open(path, "rb") as f:
        return sha256_ranges(f, [(0, os.fstat(f.fileno()).st_size)])


# --- checkpoints ---------------------------------------------------------------------------
CHECKPOINT_FORMAT = "sciml-checkpoint-v2"


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _stored(x: Any) -> bool:
    """Leaves written to a checkpoint: arrays and numbers; anything else is structure."""
    return isinstance(x, jax.Array | np.ndarray | np.generic | int | float | complex)


def _as_numpy(x: Any) -> np.ndarray:
    a = np.asarray(jax.random.key_data(x) if _is_key(x) else x)
    if a.dtype.kind == "O":
        raise TypeError(f"cannot store an object array in a checkpoint: {a!r:.80}")
    return a if a.flags.c_contiguous else a.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)


def _leaves(tree: Any) -> list[tuple[str, Any]]:
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [(jax.tree_util.keystr(p), x) for p, x in flat]


def _check_byteorder() -> None:
    if sys.byteorder != "little":
        raise OSError("sciml checkpoints are little-endian; this machine is big-endian")


def save_checkpoint(path: str | os.PathLike[str], tree: Any, meta: dict[str, Any]) -> None:
    """Write the array leaves of `tree` and the JSON-able `meta` to `path` atomically.

    The format (module docstring) carries checksums of the whole file, of the header and of
    each leaf, so `load_checkpoint` detects any change to the file.

    Raises:
        FileNotFoundError: `path`'s directory does not exist.
    """
    _check_byteorder()
    arrays = [(p, _as_numpy(x)) for p, x in _leaves(tree) if _stored(x)]
    table = [{"path": p, "dtype": a.dtype.name, "shape": list(a.shape),
              "sha256": hashlib.sha256(a.tobytes()).hexdigest()} for p, a in arrays]
    header = json.dumps({"meta": meta, "leaves": table}, allow_nan=True).encode() + b"\n"
    body = hashlib.sha256(header)
    for _, a in arrays:
        body.update(a.tobytes())
    size = len(header) + sum(a.nbytes for _, a in arrays)
    first = (f"{CHECKPOINT_FORMAT} size={size} sha256={body.hexdigest()} "
             f"header={hashlib.sha256(header).hexdigest()}\n")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(first.encode("ascii") + header)
        for _, a in arrays:
            f.write(a.tobytes())


def _first_line(path: Path, line: bytes) -> tuple[int, str, str]:
    """(size, sha256, header sha256) from a checkpoint's first line, or IntegrityError."""
    parts = line.rstrip(b"\n").split(b" ")
    try:
        fields = dict(p.decode("ascii").split("=", 1) for p in parts[1:])
        ok = (parts[0] == CHECKPOINT_FORMAT.encode() and line.endswith(b"\n")
              and set(fields) == {"size", "sha256", "header"}
              and all(len(fields[k]) == 64 and all(c in "0123456789abcdef" for c in fields[k])
                      for k in ("sha256", "header"))
              and fields["size"].isdigit() and str(int(fields["size"])) == fields["size"])
    except (UnicodeDecodeError, ValueError):
        ok = False
    if not ok:
        if parts and parts[0].startswith(b"sciml-checkpoint-v1"):
            raise IntegrityError(
                f"{path} is a checkpoint of an older sciml (format v1, without checksums); "
                "start training without resume to write a new one", path=path, what="format")
        raise IntegrityError(
            f"{path} is not a sciml checkpoint, or its first line is damaged (expected "
            f"'{CHECKPOINT_FORMAT} size=... sha256=... header=...'); delete it and start "
            "without resume", path=path, what="header")
    return int(fields["size"]), fields["sha256"], fields["header"]


def _check_table(path: Path, header: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate the JSON header's fields; return (meta, leaf table)."""
    def bad(msg: str):
        raise IntegrityError(f"checkpoint {path}: {msg}; delete it and start without resume",
                             path=path, what="header")

    if not isinstance(header, dict) or set(header) != {"meta", "leaves"}:
        bad("the header must be an object with exactly 'meta' and 'leaves'")
    meta, table = header["meta"], header["leaves"]
    if not isinstance(meta, dict):
        bad("'meta' must be an object")
    if not isinstance(table, list):
        bad("'leaves' must be a list")
    for i, leaf in enumerate(table):
        ok = (isinstance(leaf, dict) and set(leaf) == {"path", "dtype", "shape", "sha256"}
              and isinstance(leaf["path"], str) and isinstance(leaf["dtype"], str)
              and isinstance(leaf["shape"], list)
              and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                      for n in leaf["shape"])
              and isinstance(leaf["sha256"], str) and len(leaf["sha256"]) == 64)
        if ok:
            try:
                leaf["dtype"] = np.dtype(jax.numpy.dtype(leaf["dtype"]))
            except TypeError:
                ok = False
        if not ok:
            bad(f"leaf {i} of the table is malformed: {leaf!r:.200}")
    return meta, table


def load_checkpoint(path: str | os.PathLike[str], like: Any,
                    check: Callable[[dict[str, Any]], None] | None = None,
                    ) -> tuple[Any, dict[str, Any]]:
    """Read a checkpoint written by `save_checkpoint` into the structure of `like`.

    Every checksum is verified before the content is used; then `check(meta)` runs (the
    caller's own checks of its fields, which may raise), then every stored leaf is matched
    to `like`'s by path, dtype and shape.

    Returns:
        (tree, meta): `like` with its array leaves replaced by the stored ones, and `meta`.

    Raises:
        FileNotFoundError: no file at `path`.
        IntegrityError (a ValueError): the file is not a sciml checkpoint, or is truncated,
            extended or changed; the message names the leaf or the header when it can.
        ValueError: the file is intact but holds another model or optimiser than `like`
            (the message names the first leaf that differs).
    """
    _check_byteorder()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    data = path.read_bytes()  # held in memory anyway: hashed and parsed from one read
    first = data[:data.find(b"\n", 0, 200) + 1] or data[:200]
    size, digest, header_digest = _first_line(path, first)
    start = len(first)
    if len(data) != start + size:
        what = (f"truncated: {len(data)} bytes where its first line promises {start + size}"
                if len(data) < start + size else
                f"{len(data) - start - size} unexpected bytes appended after its end")
        raise IntegrityError(f"checkpoint {path} is {what}; delete it and start without "
                             "resume", path=path, what="size")
    body = data[start:]
    header_bytes = body[:body.find(b"\n") + 1]
    if hashlib.sha256(body).hexdigest() != digest:
        _name_damage(path, header_bytes, body[len(header_bytes):], header_digest)
    payload = body[len(header_bytes):]
    if hashlib.sha256(header_bytes).hexdigest() != header_digest:
        raise IntegrityError(f"checkpoint {path}: its first line is damaged (the header "
                             "checksum does not match); delete it and start without resume",
                             path=path, what="header")
    try:
        header = json.loads(header_bytes)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:  # only if written so
        raise IntegrityError(f"checkpoint {path}: its header is not JSON ({e})", path=path,
                             what="header") from None
    meta, table = _check_table(path, header)
    if check is not None:
        check(meta)
    return _fill(path, like, table, payload), meta


def _name_damage(path: Path, header_bytes: bytes, payload: bytes, header_digest: str) -> None:
    """Raise an IntegrityError naming the part of a checkpoint whose checksum fails."""
    what = "header"
    if header_bytes and hashlib.sha256(header_bytes).hexdigest() == header_digest:
        _, table = _check_table(path, json.loads(header_bytes))
        offset = 0
        for leaf in table:
            n = leaf["dtype"].itemsize * int(np.prod(leaf["shape"], dtype=np.int64))
            if hashlib.sha256(payload[offset:offset + n]).hexdigest() != leaf["sha256"]:
                what = f"leaf {leaf['path']}"
                break
            offset += n
    raise IntegrityError(f"checkpoint {path} is corrupted: the checksum of its {what} does "
                         "not match; delete it and start without resume", path=path,
                         what=what)


def _fill(path: Path, like: Any, table: list[dict[str, Any]], payload: bytes) -> Any:
    flat, treedef = jax.tree_util.tree_flatten_with_path(like)
    slots = [i for i, (_, x) in enumerate(flat) if _stored(x)]
    have = [(jax.tree_util.keystr(flat[i][0]), _as_numpy(flat[i][1])) for i in slots]

    def mismatch(msg: str):
        raise ValueError(f"checkpoint {path} does not match the model/optimiser it is loaded "
                         f"into: {msg}; resume with the same model, optimiser and batcher, or "
                         "start without resume")

    for k, (leaf, (p, a)) in enumerate(zip(table, have, strict=False)):  # counts: below
        if leaf["path"] != p or leaf["dtype"] != a.dtype or tuple(leaf["shape"]) != a.shape:
            mismatch(f"leaf {k} is {leaf['path']} {leaf['dtype']}{leaf['shape']} in the file "
                     f"and {p} {a.dtype}{list(a.shape)} here")
    if len(table) != len(have):
        extra = table[len(have)]["path"] if len(table) > len(have) else have[len(table)][0]
        mismatch(f"the file holds {len(table)} array leaves, this tree {len(have)} "
                 f"(first unmatched: {extra})")
    leaves = [x for _, x in flat]
    offset = 0
    for i, leaf in zip(slots, table, strict=True):
        n = leaf["dtype"].itemsize * int(np.prod(leaf["shape"], dtype=np.int64))
        a = np.frombuffer(payload, leaf["dtype"], n // leaf["dtype"].itemsize, offset)
        a = a.reshape(tuple(leaf["shape"])).copy()
        offset += n
        x = leaves[i]
        if _is_key(x):
            leaves[i] = jax.random.wrap_key_data(jax.numpy.asarray(a),
                                                 impl=jax.random.key_impl(x))
        elif isinstance(x, jax.Array):
            leaves[i] = jax.numpy.asarray(a)
        elif isinstance(x, np.ndarray):
            leaves[i] = a
        else:  # Python or NumPy scalar
            leaves[i] = type(x)(a[()])
    return jax.tree_util.tree_unflatten(treedef, leaves)


class _HeaderRead(Exception):
    pass


def load_configured(path: str | os.PathLike[str], kind: str,
                    build: Callable[[dict[str, Any]], Any]) -> tuple[Any, dict[str, Any]]:
    """Load a module saved with `save_checkpoint(path, module, {"kind": kind, "config":
    {...}, ...})`: a first pass verifies the file and reads `config`, `build(config)` makes
    a module of that structure, and a second pass fills it.

    Raises `FileNotFoundError`, `IntegrityError` (as `load_checkpoint`) and ValueError
    when the file holds another kind or a configuration `build` rejects (TypeError,
    KeyError or ValueError)."""
    path = Path(path)
    found: dict[str, Any] = {}

    def read_header(meta):
        if meta.get("kind") != kind or not isinstance(meta.get("config"), dict):
            raise ValueError(f"{path} holds a {meta.get('kind')!r}, not a {kind}")
        found.update(meta)
        raise _HeaderRead

    try:
        load_checkpoint(path, None, read_header)
    except _HeaderRead:
        pass
    try:
        like = build(dict(found["config"]))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: its configuration {found['config']} is not valid ({e})"
                         ) from None
    return load_checkpoint(path, like)
