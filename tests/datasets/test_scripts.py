"""`load("darcy", ...)` from scripts: without an `if __name__ == "__main__":` guard it
generates in-process with one warning (no worker tracebacks); with one it uses the pool."""

import subprocess
import sys
import textwrap

import pytest

from sciml.datasets import cache_path
from sciml.datasets._generate import spawn_unsafe_reason


def _run(tmp_path, body: str) -> subprocess.CompletedProcess:
    script = tmp_path / "make_data.py"
    script.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=900,
        cwd=tmp_path,
    )


def test_unguarded_script_generates_in_process_without_tracebacks(tmp_path):
    out = _run(
        tmp_path,
        f"""
        from sciml.datasets import load

        ds = load("darcy", n_train=20, n_test=0, workers=2, cache_dir={str(tmp_path)!r})
        print(ds.sizes["sample"])
        """,
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "RuntimeError" not in out.stderr
    assert out.stdout.strip() == "20"
    assert out.stderr.count("generating 20 samples in this process") == 1
    assert "if __name__ == '__main__':" in out.stderr and "make_data.py (line 4)" in out.stderr
    assert cache_path("darcy", cache_dir=tmp_path).exists()


def test_guarded_script_uses_the_process_pool(tmp_path):
    out = _run(
        tmp_path,
        f"""
        import logging

        from sciml.datasets import load


        def main():
            logging.basicConfig(level=logging.INFO)
            ds = load("darcy", n_train=16, n_test=0, workers=2, cache_dir={str(tmp_path)!r})
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


@pytest.mark.parametrize(
    "code, unsafe",
    [
        ("r = reason()", True),
        ("if __name__ == '__main__':\n    r = reason()", False),
        ("if '__main__' == __name__:\n    x = 1\n    r = reason()", False),
        ("def f():\n    return reason()\nr = f()", True),
        ("def f():\n    return reason()\nif __name__ == '__main__':\n    r = f()", False),
        ("if __name__ != '__main__':\n    pass\nr = reason()", True),
    ],
)
def test_guard_detection(tmp_path, code, unsafe):
    script = tmp_path / "script.py"
    script.write_text(
        "from sciml.datasets._generate import spawn_unsafe_reason as reason\n"
        f"{code}\nprint('unsafe' if r else 'safe')\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("unsafe" if unsafe else "safe")


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
