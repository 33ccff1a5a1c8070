"""`load` of the Darcy family from scripts: without an `if __name__ == "__main__":` guard it
generates in-process with one warning (no worker tracebacks); with one it uses the pool.

The scripts load the built-in family with a cheap problem (16² cells, as
`small_darcy` in test_executors.py): its execution (a spawn pool of 2-sample tasks from 16
samples) is the built-in one, while a 256² solve would cost ~0.3 CPU-s a sample."""

import subprocess
import sys
import textwrap

from sciml.datasets import cache_path
from sciml.datasets._generate import spawn_unsafe_reason

SMALL_DARCY = """\
import dataclasses
import functools

from sciml.datasets import get_family, load
from sciml.problems.operator_learning import DarcyFlow

darcy = get_family("darcy")
darcy = dataclasses.replace(darcy, problem=functools.partial(DarcyFlow, cells=16, kl_modes=8),
                            layout=dataclasses.replace(darcy.layout, resolutions=(16, 8)))
"""


def _run(tmp_path, body: str) -> subprocess.CompletedProcess:
    script = tmp_path / "make_data.py"
    script.write_text(SMALL_DARCY + textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=900,
        cwd=tmp_path,
    )


def test_unguarded_script_generates_in_process_without_tracebacks(tmp_path):
    out = _run(
        tmp_path,
        f"""
        ds = load(darcy, n_train=20, n_test=0, workers=2, cache_dir={str(tmp_path)!r})
        print(ds.sizes["sample"])
        """,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "RuntimeError" not in out.stderr
    assert out.stdout.strip() == "20"
    assert out.stderr.count("generating 20 samples in this process") == 1
    line = SMALL_DARCY.count("\n") + 2  # the load call, after the blank first line
    assert "if __name__ == '__main__':" in out.stderr
    assert f"make_data.py (line {line})" in out.stderr, out.stderr
    # the small family's first resolution, 16, which the built-in one also lists
    assert cache_path("darcy", resolution=16, cache_dir=tmp_path).exists()


def test_guarded_script_uses_the_process_pool(tmp_path):
    out = _run(
        tmp_path,
        f"""
        import logging


        def main():
            logging.basicConfig(level=logging.INFO)
            ds = load(darcy, n_train=16, n_test=0, workers=2, cache_dir={str(tmp_path)!r})
            print(ds.sizes["sample"])


        if __name__ == "__main__":
            main()
        """,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout.strip() == "16"
    assert "on a process pool of 2 workers (spawn)" in out.stderr
    assert "in this process" not in out.stderr


# Every case's call site in one script: the detector judges each call by its own line
# against the script's guarded line ranges (one interpreter instead of one per case, ~1.5 s
# each).
GUARD_CASES = """\
from sciml.datasets._generate import spawn_unsafe_reason as reason


def f():
    return reason()


r = {}
r["module level"] = reason()
r["through a function"] = f()
if __name__ != '__main__':
    pass
r["after a != test"] = reason()
if __name__ == '__main__':
    r["guarded"] = reason()
    r["guarded, through a function"] = f()
if '__main__' == __name__:
    x = 1
    r["reversed guard"] = reason()
print(sorted(k for k, v in r.items() if v), sorted(k for k, v in r.items() if not v))
"""


def test_guard_detection(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(GUARD_CASES)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    unsafe = ["after a != test", "module level", "through a function"]
    safe = ["guarded", "guarded, through a function", "reversed guard"]
    assert out.stdout.strip() == f"{unsafe} {safe}"


def test_here_is_safe():
    assert spawn_unsafe_reason() is None  # pytest's own entry point is guarded


def test_guard_detection_from_a_thread(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "import threading\n"
        "from sciml.datasets._generate import spawn_unsafe_reason as reason\n"
        "out = []\n"
        "t = threading.Thread(target=lambda: out.append(reason()))\n"
        "t.start()\n"
        "t.join()\n"
        "print('unsafe' if out[0] else 'safe')\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "unsafe"
