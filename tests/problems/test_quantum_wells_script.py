"""`python -m sciml.problems.quantum_wells`: the problem script."""

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from sciml.problems.quantum_wells.__main__ import WELLS, main


def test_exact_only_prints_the_exact_energies(capsys):
    assert main(["--exact-only", "--states", "2"]) == 0
    out = capsys.readouterr().out
    assert f"{np.pi**2:.12g}" in out and f"{4 * np.pi**2:.12g}" in out
    assert "FiniteWell(L=1, depth=100, width=0.5, center=0.5)" in out


def test_runs_as_a_module():
    r = subprocess.run([sys.executable, "-m", "sciml.problems.quantum_wells", "--exact-only"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "finite_barrier" not in r.stderr and "FiniteBarrier" in r.stdout


def test_bad_states_argument():
    with pytest.raises(SystemExit):
        main(["--states", "0"])


@pytest.mark.slow
def test_solves_all_wells_and_writes_figures(tmp_path):
    assert main(["--out", str(tmp_path), "--no-progress"]) == 0
    for name in WELLS:
        for fig in ("wavefunction", "error", "training"):
            assert (tmp_path / f"{name}-{fig}.png").stat().st_size > 0
        ds = xr.open_dataset(tmp_path / f"{name}.nc", engine="h5netcdf")
        assert float(ds.psi_l2_error.max()) < 1e-4
