"""The plotting notebooks run end to end on a small fake report."""

import json
import sys
from importlib.resources import files

import nbformat
import numpy as np
import pytest
import xarray as xr

from sciml.datasets import write_netcdf

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
    write_netcdf(single, report / "data" / "quantum_wells.fake.nc")

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
    write_netcdf(multi, report / "data" / "quantum_wells.fake_multi.nc")
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
    write_netcdf(xr.Dataset(
               {"u_pinn": ("x", np.sin(np.pi * x) + 1e-4), "u_ref": ("x", np.sin(np.pi * x)),
                "residual": ("x", np.full(51, 1e-3)),
                "points": (("point", "coord"), np.linspace(-1, 1, 20)[:, None]), **hist},
               coords={"x": x, "coord": ["x"], "train_step": step},
               attrs={"sampler": "uniform", "rel_l2": 1e-4}),
        report / "data" / "pde.fake_1d.nc")
    g = np.sin(np.pi * x)[:, None] * np.sin(np.pi * x)[None, :]
    write_netcdf(xr.Dataset(
               {"u_pinn": (("x", "t"), g * 1.1), "u_ref": (("x", "t"), g),
                "residual": (("x", "t"), np.abs(g)),
                "points": (("point", "coord"), np.random.default_rng(0).uniform(-1, 1, (30, 2))),
                **hist},
               coords={"x": x, "t": x, "coord": ["x", "t"], "train_step": step},
               attrs={"sampler": "rad", "rel_l2": 0.1}),
        report / "data" / "pde.fake_2d.nc")
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


@pytest.fixture
def operator_report(tmp_path):
    """A report with a 1-D and a 2-D operator case, their data laid out as `solve_operator`
    in `validation/cases/operators.py` returns it and written as the runner writes it."""
    from sciml.datasets import to_netcdf

    report = tmp_path / "report"
    (report / "data").mkdir(parents=True)
    crashed = {**entry("operator.burgers.fno", "exception", 0.0, 0.0), "error": None,
               "tolerance": None, "passed": False}
    cases = [entry("operator.antiderivative.deeponet", "test_rel_l2", 4e-3, 1e-2),
             entry("operator.darcy.fno", "test_rel_l2", 3e-2, 2e-2),
             entry("operator.darcy.fno", "test_rel_l2_at_64", 4e-2, 5e-2),
             crashed, entry("pde.elsewhere", "rel_l2", 1e-3, 1e-2)]
    results = {"sciml_version": "0", "created": "now", "suite": "full", "machine": {},
               "versions": {}, "cases": cases}
    (report / "results.json").write_text(json.dumps(results))
    rng = np.random.default_rng(0)
    epoch = np.arange(1, 21)

    def save(name, dims, coords, fields, per_sample, attrs, resolutions):
        i = int(np.argsort(per_sample)[len(per_sample) // 2])
        mean = float(per_sample.mean())
        ds = xr.Dataset(
            {**{k: (dims, v) for k, v in fields.items()},
             "test_rel_l2": (("test_sample",), per_sample.astype(np.float32)),
             "history_loss": ("epoch", 0.5 * np.exp(-epoch / 5.0)),
             "history_test_rel_l2": ("epoch", 0.6 * np.exp(-epoch / 6.0) + mean),
             "history_elapsed_s": ("epoch", 0.1 * epoch)},
            coords={**coords, "epoch": epoch},
            attrs={**attrs, "rel_l2": mean, "median_sample": i, "wall_time_s": 2.0,
                   "samples_per_s": 1000.0, "n_test": per_sample.size, "seed": 0,
                   "n_parameters": 1234,
                   **{f"rel_l2_at_{r}": mean * (1 + 0.1 * k) for k, r in enumerate(resolutions)},
                   "config_epochs": str(epoch.size), "config_batch_size": "4"})
        to_netcdf(ds, report / "data" / f"{name}.nc")

    x = np.linspace(0.0, 1.0, 100)
    s = np.sin(2 * np.pi * x) / (2 * np.pi)
    save("operator.antiderivative.deeponet", ("x",), {"x": x},
         {"input": np.cos(2 * np.pi * x), "reference": s, "prediction": s + 1e-3 * x},
         rng.uniform(1e-3, 1e-2, 16),
         {"dataset": "antiderivative", "model": "deeponet", "resolution": 100, "n_train": 64,
          "model_latent": "16"}, (100,))
    c = (np.arange(32) + 0.5) / 32
    u = np.outer(np.sin(np.pi * c), np.sin(np.pi * c)) / 20
    save("operator.darcy.fno", ("x", "y"), {"x": c, "y": c},
         {"input": np.where(rng.normal(size=(32, 32)) > 0, 12.0, 3.0), "reference": u,
          "prediction": 1.03 * u}, rng.uniform(1e-2, 5e-2, 4),
         {"dataset": "darcy", "model": "fno", "resolution": 32, "n_train": 8,
          "model_modes": "(12, 12)", "model_width": "32"}, (32, 64))
    return report


OPERATOR_NOTEBOOK = files("sciml.validation") / "notebooks" / "operators.ipynb"


def test_operators_notebook(operator_report, kernel_name, monkeypatch, tmp_path):
    """The operator notebook re-plots a 1-D and a 2-D case; only the case evaluated at two
    resolutions gets a resolution-transfer chart."""
    from nbclient import NotebookClient

    nb = nbformat.reads(OPERATOR_NOTEBOOK.read_text(), as_version=4)
    nbformat.validate(nb)
    assert all(c.outputs == [] and c.execution_count is None
               for c in nb.cells if c.cell_type == "code")
    monkeypatch.setenv("SCIML_REPORT_DIR", str(operator_report))
    NotebookClient(nb, timeout=300, kernel_name=kernel_name,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    out = operator_report / "notebook"
    expected = {f"{case}-{kind}.png"
                for case in ("operator.antiderivative.deeponet", "operator.darcy.fno")
                for kind in ("prediction", "training", "test-errors")}
    expected.add("operator.darcy.fno-transfer.png")
    assert {p.name for p in out.glob("*.png")} == expected
    for name in expected:
        assert (out / name).read_bytes().startswith(b"\x89PNG")
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "operator.darcy.fno" in printed and "PASS" in printed and "FAIL" in printed
    assert "operator.burgers.fno" in printed  # an exception entry (no numbers) is listed
    assert "pde.elsewhere" not in printed
    assert "32: " in printed and "64: " in printed  # errors by resolution
