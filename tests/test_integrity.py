"""Fault injection: nothing the toolkit wrote loads silently once it has changed.

Random single-byte and single-bit corruptions of a cached dataset and of a checkpoint
(seeded, 200 of each kind per file) must each either raise `IntegrityError` or load data
identical to the original; then the specific faults of issue 12, one test each.
"""

from __future__ import annotations

import json
import random

import equinox as eqx
import h5py
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import xarray as xr

from sciml.datasets import _families, cache_path, load, read_netcdf, write_netcdf
from sciml.io import IntegrityError, load_checkpoint, save_checkpoint
from sciml.solvers import fit

N_FLIPS = 200


class Linear(eqx.Module):
    w: jax.Array
    b: jax.Array


def _mse(model, data):
    x, y = data
    return jnp.mean((x @ model.w + model.b - y) ** 2)


def _data():
    x = jax.random.normal(jax.random.key(0), (32, 3))
    return x, x @ jnp.array([1.0, -2.0, 0.5]) + 0.3


def _corruptions(data: bytes, seed: int):
    """N_FLIPS random byte replacements, then N_FLIPS random single-bit flips."""
    rng = random.Random(seed)
    for k in range(2 * N_FLIPS):
        b = bytearray(data)
        i = rng.randrange(len(b))
        if k < N_FLIPS:
            b[i] = rng.choice([v for v in range(256) if v != b[i]])
        else:
            b[i] ^= 1 << rng.randrange(8)
        yield bytes(b)


@pytest.fixture
def cached(tmp_path):
    ds = load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    return ds, cache_path("antiderivative", cache_dir=tmp_path)


def test_random_corruptions_of_a_cached_dataset(cached, tmp_path, monkeypatch):
    ds, path = cached
    original = path.read_bytes()

    def no_generation(*args, **kwargs):
        raise AssertionError("a damaged cache must not be regenerated silently")

    monkeypatch.setattr(_families, "sample_operator", no_generation)
    silent, raised = 0, 0
    for damaged in _corruptions(original, seed=0):
        path.write_bytes(damaged)
        try:
            out = load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
        except IntegrityError as e:
            assert str(path) in str(e) and "delete" in str(e)
            raised += 1
            continue
        silent += not (out.drop_attrs().identical(ds.drop_attrs())
                       and out.attrs.keys() == ds.attrs.keys())
    assert silent == 0
    assert raised == 2 * N_FLIPS  # every byte is covered by the file's checksum


def test_random_corruptions_of_a_checkpoint(tmp_path):
    model = Linear(jax.random.normal(jax.random.key(1), (3,)), jnp.asarray(0.5))
    tree = (model, optax.adam(1e-3).init(model), jax.random.key(2))
    path = tmp_path / "ck.eqx"
    save_checkpoint(path, tree, {"step": 3, "note": "ψ"})
    original = path.read_bytes()
    silent = raised = 0
    for damaged in _corruptions(original, seed=1):
        path.write_bytes(damaged)
        try:
            loaded, meta = load_checkpoint(path, tree)
        except IntegrityError:
            raised += 1
            continue
        same = meta == {"step": 3, "note": "ψ"} and all(
            np.array_equal(np.asarray(jax.random.key_data(a) if a.dtype == tree[2].dtype
                                      else a),
                           np.asarray(jax.random.key_data(b) if b.dtype == tree[2].dtype
                                      else b))
            for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(tree), strict=True))
        silent += not same
    assert silent == 0
    assert raised == 2 * N_FLIPS


# --- datasets: the faults of issue 12, one by one ---------------------------------------------
def _flip_inside(path, name):
    """Flip one bit in the middle of variable `name`'s stored bytes."""
    with h5py.File(path, "r") as f:
        d = f[name].id
        offset = d.get_offset() + d.get_storage_size() // 2
    b = bytearray(path.read_bytes())
    b[offset] ^= 0x10
    path.write_bytes(bytes(b))


def test_a_flipped_byte_in_a_variable_is_named(cached, tmp_path):
    _, path = cached
    _flip_inside(path, "u")
    with pytest.raises(IntegrityError, match="variable 'u' has changed") as info:
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    assert info.value.what == "u" and info.value.path == path


@pytest.mark.parametrize("rewrite", ["zeros", "double", "swap"])
def test_a_variable_rewritten_in_place_is_named(cached, tmp_path, rewrite):
    _, path = cached
    with h5py.File(path, "r+") as f:  # attributes kept, only the values change
        u = f["u"][...]
        f["u"][...] = {"zeros": np.zeros_like(u), "double": 2 * u,
                       "swap": u[[1, 0, *range(2, len(u))]]}[rewrite]
    with pytest.raises(IntegrityError, match="'u'") as info:
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)
    assert info.value.what == "u"


def test_a_float32_copy_of_a_variable_is_refused(cached, tmp_path):
    _, path = cached
    with h5py.File(path, "r+") as f:
        u, attrs = f["u"][...], dict(f["u"].attrs)
        del f["u"]
        f.create_dataset("u", data=u.astype(np.float32))
        for k, v in attrs.items():
            if k not in ("DIMENSION_LIST",):
                f["u"].attrs[k] = v
    with pytest.raises(IntegrityError, match=str(path)):
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)


def test_a_file_rewritten_by_another_tool_is_refused(cached, tmp_path):
    _, path = cached
    with xr.open_dataset(path, engine="h5netcdf") as f:
        ds = f.load()
    ds["u"] = ds["u"] * 2
    ds.to_netcdf(path, engine="h5netcdf")  # no seal
    with pytest.raises(IntegrityError, match="no sciml checksums.*delete"):
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[: len(b) // 2], "truncated"),
    (lambda b: b + b"junk", "4 unexpected bytes appended"),
    (lambda b: b"", "not a sealed sciml NetCDF file"),
])
def test_truncated_or_extended_dataset_files(cached, tmp_path, damage, message):
    _, path = cached
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(IntegrityError, match=message):
        load("antiderivative", n_train=3, n_test=1, cache_dir=tmp_path)


def test_sealed_files_are_standard_netcdf(tmp_path):
    ds = xr.Dataset({"v": (("s", "x"), np.arange(6.0).reshape(2, 3))},
                    coords={"split": ("s", ["train", "test"])}, attrs={"seed": 1})
    path = write_netcdf(ds, tmp_path / "a.nc")
    with xr.open_dataset(path, engine="h5netcdf") as f:  # any NetCDF4 reader
        assert f.load().identical(read_netcdf(path))
    xr.testing.assert_identical(read_netcdf(path), ds)


def test_a_bad_cache_dir_fails_before_any_sample_is_generated(tmp_path, monkeypatch):
    def no_generation(*args, **kwargs):
        raise AssertionError("generated before checking the cache directory")

    monkeypatch.setattr(_families, "sample_operator", no_generation)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError, match=f"dataset cache directory {blocker}"):
        load("antiderivative", n_train=3, n_test=1, cache_dir=blocker)
    with pytest.raises(NotADirectoryError, match="dataset cache directory"):
        load("antiderivative", n_train=3, n_test=1, cache_dir=blocker / "sub")


# --- checkpoints -------------------------------------------------------------------------------
@pytest.fixture
def checkpointed(tmp_path):
    ck = tmp_path / "run.eqx"
    model = Linear(jnp.zeros(3), jnp.zeros(()))
    fit(model, _mse, optax.adam(1e-2), steps=20, data=_data(), log_every=10, checkpoint=ck)
    return model, ck


def _resume(model, ck, optimiser=None):
    return fit(model, _mse, optimiser or optax.adam(1e-2), steps=40, data=_data(),
               log_every=10, checkpoint=ck, resume=True)


def test_a_flipped_bit_in_the_first_weight_is_named(checkpointed):
    model, ck = checkpointed
    b = bytearray(ck.read_bytes())
    header_end = b.index(b"\n", b.index(b"\n") + 1) + 1
    b[header_end + 7] ^= 0x40  # the exponent of the first float64/float32 of `w`
    ck.write_bytes(bytes(b))
    with pytest.raises(IntegrityError, match=r"leaf \[0\]\.w") as info:
        _resume(model, ck)
    assert info.value.what == "leaf [0].w" and str(ck) in str(info.value)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b + b"\x00junk", "5 unexpected bytes appended"),
    (lambda b: b[:-3], "truncated"),
    (lambda b: b[:10], "not a sciml checkpoint"),
])
def test_truncated_or_extended_checkpoints(checkpointed, damage, message):
    model, ck = checkpointed
    ck.write_bytes(damage(ck.read_bytes()))
    with pytest.raises(IntegrityError, match=message):
        _resume(model, ck)


def test_an_adam_checkpoint_does_not_resume_under_sgd(checkpointed):
    model, ck = checkpointed
    with pytest.raises(ValueError, match="another optimiser: scale_by_adam"):
        _resume(model, ck, optax.sgd(1e-2))
    with pytest.raises(ValueError, match=r"scale\.step_size -0\.01 -> -0\.001"):
        _resume(model, ck, optax.adam(1e-3))
    assert _resume(model, ck).step == 40  # the same optimiser resumes


def _rewrite_header(path, edit):
    """Edit a checkpoint's JSON header and re-seal it, as a careful hand-editor would."""
    import hashlib

    data = path.read_bytes()
    first_end = data.index(b"\n") + 1
    header_end = data.index(b"\n", first_end) + 1
    header = json.loads(data[first_end:header_end])
    edit(header)
    new = json.dumps(header).encode() + b"\n"
    body = new + data[header_end:]
    first = (f"sciml-checkpoint-v2 size={len(body)} sha256={hashlib.sha256(body).hexdigest()}"
             f" header={hashlib.sha256(new).hexdigest()}\n").encode()
    path.write_bytes(first + body)


def test_an_edited_header_is_refused(checkpointed):
    model, ck = checkpointed
    original = ck.read_bytes()
    b = bytearray(original)
    b[b.index(b'"step": 20') + 9] = ord("9")  # edited without re-sealing
    ck.write_bytes(bytes(b))
    with pytest.raises(IntegrityError, match="checksum of its header") as info:
        _resume(model, ck)
    assert info.value.what == "header"
    for edit, message in [
        (lambda h: h["meta"].pop("history"), r"fields \['desc', 'optimiser', 'step'\]"),
        (lambda h: h["meta"].update(step=-1), "'step' must be a non-negative integer"),
        (lambda h: h["meta"].update(step=30), "last history row is step 20"),
        (lambda h: h["meta"]["history"].append("x"), "'history' must be a list of rows"),
        (lambda h: h["leaves"][0].update(shape=[3, "a"]), "leaf 0 of the table is malformed"),
    ]:
        ck.write_bytes(original)
        _rewrite_header(ck, edit)
        with pytest.raises(IntegrityError, match=message):
            _resume(model, ck)


def test_a_checkpoint_of_another_model_names_the_leaf(checkpointed):
    _, ck = checkpointed
    with pytest.raises(ValueError, match=r"leaf 0 is \[0\]\.w float\d+\[3\] in the file and "
                                         r"\[0\]\.w float\d+\[5\] here"):
        _resume(Linear(jnp.zeros(5), jnp.zeros(())), ck)


def test_checkpoint_directories(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"directory {tmp_path / 'missing'} does not "
                                                "exist") as info:
        save_checkpoint(tmp_path / "missing" / "ck.eqx", (jnp.zeros(2),), {})
    assert ".tmp" not in str(info.value)  # names the target, not a hidden temporary file
    ck = tmp_path / "new" / "dir" / "ck.eqx"  # `fit` creates it before training
    fit(Linear(jnp.zeros(3), jnp.zeros(())), _mse, optax.adam(1e-2), steps=10, data=_data(),
        log_every=10, checkpoint=ck)
    assert ck.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(NotADirectoryError, match="checkpoint directory"):
        fit(Linear(jnp.zeros(3), jnp.zeros(())), _mse, optax.adam(1e-2), steps=10,
            data=_data(), log_every=10, checkpoint=blocker / "ck.eqx")


@pytest.mark.parametrize("value, error", [(2.5, TypeError), (2.0, TypeError), ("3", TypeError),
                                          (True, TypeError), (-1, ValueError)])
def test_fit_steps_must_be_an_integer(value, error):
    with pytest.raises(error, match="steps"):
        fit(Linear(jnp.zeros(3), jnp.zeros(())), _mse, optax.adam(1e-2), steps=value,
            data=_data())
    assert fit(Linear(jnp.zeros(3), jnp.zeros(())), _mse, optax.adam(1e-2),
               steps=np.int64(3), data=_data(), log_every=3).step == 3
