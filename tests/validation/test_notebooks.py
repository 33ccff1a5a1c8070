"""The plotting notebooks run end to end on a small fake report."""

import json
import sys
from importlib.resources import files

import nbformat
import numpy as np
import pytest
import xarray as xr

NOTEBOOK = files("sciml.validation") / "notebooks" / "quantum_wells.ipynb"


@pytest.fixture(scope="module")
def kernel_name() -> str:
    """The `python3` kernel, installed into this environment if it has none."""
    from jupyter_client.kernelspec import find_kernel_specs

    if "python3" not in find_kernel_specs():
        try:
            from ipykernel.kernelspec import install

            install(prefix=sys.prefix)
        except Exception as e:  # e.g. a read-only environment
            pytest.skip(f"no 'python3' Jupyter kernel, and installing one failed: {e}")
        if "python3" not in find_kernel_specs():
            pytest.skip("no 'python3' Jupyter kernel after installing ipykernel's kernelspec")
    return "python3"


def entry(name: str, metric: str, error: float, tolerance: float) -> dict:
    return {
        "name": name,
        "problem": name.split(".")[1],
        "metric": metric,
        "error": error,
        "tolerance": tolerance,
        "passed": error <= tolerance,
        "wall_time_s": 1.25,
        "precision": "float64",
    }


@pytest.fixture
def fake_report(tmp_path):
    """A report directory as `sciml validate` writes it, with two quantum-well datasets."""
    report = tmp_path / "report"
    (report / "data").mkdir(parents=True)
    results = {
        "sciml_version": "0.1.0",
        "created": "2025-01-01T00:00:00+00:00",
        "suite": "quick",
        "machine": {"platform": "test", "processor": "", "cpu_count": 1, "python": "3.11"},
        "versions": {},
        "cases": [
            entry("quantum_wells.fake", "energy_rel", 1e-7, 1e-6),
            entry("quantum_wells.fake_multi", "energy_rel", 1e-3, 1e-6),
            entry("other.case", "l2", 0.5, 1.0),
        ],
    }
    (report / "results.json").write_text(json.dumps(results))

    x = np.linspace(0.0, 1.0, 41)
    step = np.arange(0, 200, 10)
    exact = np.sqrt(2.0) * np.sin(np.pi * x)
    e_exact = np.pi**2 / 2
    single = xr.Dataset(
        {
            "psi_pinn": ("x", exact + 1e-3 * np.sin(3 * np.pi * x)),
            "psi_exact": ("x", exact),
            "energy": ("step", e_exact * (1 + np.exp(-step / 40.0))),
            "loss": ("step", np.exp(-step / 30.0)),
        },
        coords={"x": x, "step": step},
        attrs={"energy_exact": e_exact},
    )
    single.to_netcdf(report / "data" / "quantum_wells.fake.nc", engine="h5netcdf")

    n = np.arange(1, 4)
    loss = np.exp(-step / 30.0)
    psi = np.sqrt(2.0) * np.sin(np.pi * n[:, None] * x)
    energies = np.pi**2 * n**2 / 2
    multi = xr.Dataset(
        {
            "psi_pinn": (("state", "x"), psi * 1.001),
            "psi_exact": (("state", "x"), psi),
            "energy_exact": ("state", energies),
            "energy": (("step", "state"), energies * (1 + np.exp(-step / 40.0))[:, None]),
            # As histories of states trained for different lengths: NaN-padded, (state, step).
            "loss": (("state", "step"), np.where(step < 150 + 10 * n[:, None], loss, np.nan)),
        },
        coords={"x": x, "step": step, "state": n},
    )
    multi.to_netcdf(report / "data" / "quantum_wells.fake_multi.nc", engine="h5netcdf")
    return report


def test_notebook_is_stored_without_outputs():
    nb = nbformat.reads(NOTEBOOK.read_text(), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def test_quantum_wells_notebook(fake_report, kernel_name, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    # The kernel is a subprocess and inherits this environment.
    monkeypatch.setenv("SCIML_REPORT_DIR", str(fake_report))
    nb = nbformat.reads(NOTEBOOK.read_text(), as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name=kernel_name, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()

    for name in ("quantum_wells.fake", "quantum_wells.fake_multi"):
        png = fake_report / "notebook" / f"{name}.png"
        assert png.read_bytes().startswith(b"\x89PNG")

    printed = "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
    )
    assert "quantum_wells.fake" in printed and "PASS" in printed and "FAIL" in printed
    assert "other.case" not in printed  # the table holds quantum-well entries only


PDE_NOTEBOOK = files("sciml.validation") / "notebooks" / "pde.ipynb"


def test_pde_notebook(tmp_path, kernel_name, monkeypatch):
    """The PDE notebook re-plots 1-D and 2-D cases laid out as `validation.cases.pde` saves."""
    from nbclient import NotebookClient

    report = tmp_path / "report"
    (report / "data").mkdir(parents=True)
    results = {"sciml_version": "0", "created": "now", "suite": "quick", "machine": {},
               "versions": {}, "cases": [entry("pde.fake_1d", "rel_l2", 1e-4, 1e-3),
                                         entry("pde.fake_2d", "rel_l2", 1e-1, 1e-2)]}
    (report / "results.json").write_text(json.dumps(results))
    step = np.arange(100, 1100, 100)
    x = np.linspace(-1, 1, 51)
    hist = {"history_loss": ("train_step", np.exp(-step / 300))}
    xr.Dataset({"u_pinn": ("x", np.sin(np.pi * x) + 1e-4), "u_ref": ("x", np.sin(np.pi * x)),
                "residual": ("x", np.full(51, 1e-3)),
                "points": (("point", "coord"), np.linspace(-1, 1, 20)[:, None]), **hist},
               coords={"x": x, "coord": ["x"], "train_step": step},
               attrs={"sampler": "uniform", "rel_l2": 1e-4}).to_netcdf(
        report / "data" / "pde.fake_1d.nc", engine="h5netcdf")
    g = np.sin(np.pi * x)[:, None] * np.sin(np.pi * x)[None, :]
    xr.Dataset({"u_pinn": (("x", "t"), g * 1.1), "u_ref": (("x", "t"), g),
                "residual": (("x", "t"), np.abs(g)),
                "points": (("point", "coord"), np.random.default_rng(0).uniform(-1, 1, (30, 2))),
                **hist},
               coords={"x": x, "t": x, "coord": ["x", "t"], "train_step": step},
               attrs={"sampler": "rad", "rel_l2": 0.1}).to_netcdf(
        report / "data" / "pde.fake_2d.nc", engine="h5netcdf")
    monkeypatch.setenv("SCIML_REPORT_DIR", str(report))
    nb = nbformat.reads(PDE_NOTEBOOK.read_text(), as_version=4)
    assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
    NotebookClient(nb, timeout=300, kernel_name=kernel_name,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    for name in ("pde.fake_1d", "pde.fake_2d"):
        assert (report / "notebook" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "pde.fake_1d" in printed and "PASS" in printed and "FAIL" in printed
