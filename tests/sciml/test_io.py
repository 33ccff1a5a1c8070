"""Atomic writes: the target holds its old or its complete new content, never a part."""

import os
import stat

import pytest

from sciml.io import atomic_path, atomic_write_bytes, atomic_write_text


def listing(directory):
    return sorted(os.listdir(directory))  # hidden temporaries included


def test_write_creates_and_replaces(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer")
    assert target.read_bytes() == b"second, longer"
    atomic_write_text(tmp_path / "t.txt", "ψ ≈ 1\n")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "ψ ≈ 1\n"
    assert listing(tmp_path) == ["a.bin", "t.txt"]


def test_atomic_path_yields_a_sibling_and_moves_it(tmp_path):
    target = tmp_path / "fig.png"
    target.write_bytes(b"old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        assert tmp.exists()
        tmp.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # untouched until the block ends
    assert target.read_bytes() == b"new"
    assert listing(tmp_path) == ["fig.png"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_failed_write_keeps_original_and_removes_temp(tmp_path, error):
    target = tmp_path / "results.json"
    target.write_text("old")
    with pytest.raises(error), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise error
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["results.json"]


def test_failed_first_write_creates_nothing(tmp_path):
    with pytest.raises(ValueError), atomic_path(tmp_path / "new.nc") as tmp:
        tmp.unlink()  # a writer may remove its own partial file
        raise ValueError
    assert listing(tmp_path) == []


def test_failed_replace_removes_temp(tmp_path):
    (tmp_path / "target").mkdir()  # a file cannot replace a directory
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / "target", b"data")
    assert listing(tmp_path) == ["target"]


def test_fsync_before_replace(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1]
    )
    atomic_write_bytes(tmp_path / "f", b"x")
    assert events.index("fsync") < events.index("replace")


def test_new_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644
