"""Every module of the source tree imports from a built wheel, not the editable tree: a
subpackage left off `pyproject.toml` fails here."""

import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def source_modules() -> list[str]:
    """Module names of every .py file under the folders `pyproject.toml` maps to `sciml.*`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = []
    for package, folder in config["tool"]["setuptools"]["package-dir"].items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if any(p.startswith(".") or p == "__pycache__" for p in rel.parts):
                continue
            names.append(".".join([package, *parts]))
    return sorted(set(names))


def test_every_module_imports_from_the_wheel(tmp_path):
    # a clean copy: setuptools would reuse a stale build/ folder of the checkout
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".*venv*", "validation-report*"))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                            "-q", "-w", str(tmp_path)], capture_output=True, text=True,
                           timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = tmp_path.glob("sciml-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for data in ("sciml/precond/weights/dcdm-3d.ckpt", "sciml/validation/notebooks/"):
        assert any(n.startswith(data) for n in names), f"{data} is not in the wheel"
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    modules = [m for m in source_modules() if not m.endswith("__main__")]
    assert len(modules) > 50
    script = textwrap.dedent(f"""
        import importlib, sys
        sys.path.insert(0, {str(site)!r})
        bad = []
        for name in {modules!r}:
            try:
                module = importlib.import_module(name)
            except Exception as e:
                bad.append(f"{{name}}: {{type(e).__name__}}: {{e}}")
                continue
            if not module.__file__.startswith({str(site)!r}):
                bad.append(f"{{name}} came from {{module.__file__}}, not the wheel")
        print("\\n".join(bad) or "ok")
    """)
    # from a neutral directory, so the repository's own folders are not on the path
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok", out.stdout
    main = site / "sciml" / "problems" / "quantum_wells" / "__main__.py"
    assert main.exists() and (site / "sciml" / "validation" / "notebooks").is_dir()
