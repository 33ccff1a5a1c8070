"""The quantum-well validation cases, end to end through the CLI."""

import json

import pytest

from sciml.cli import main


def _run(tmp_path, *args):
    out = tmp_path / "report"
    code = main(["validate", "--no-progress", "--out", str(out), *args])
    results = json.loads((out / "results.json").read_text())
    return code, results, out


def test_infinite_well_case_passes_through_the_cli(tmp_path, shared_well_solves):
    # the solve is shared with tests/problems/test_quantum_wells_script.py (conftest)
    code, results, out = _run(tmp_path, "--only", "quantum_wells.infinite_well.ground")
    assert code == 0
    entries = {e["metric"]: e for e in results["cases"]}
    assert set(entries) == {"energy_rel_error", "psi_l2_error"}
    assert entries["energy_rel_error"]["tolerance"] == 1e-7
    assert entries["psi_l2_error"]["tolerance"] == 1e-4
    assert all(e["passed"] and e["precision"] == "float64" for e in entries.values())
    for fig in ("wavefunction", "error", "training"):
        assert (out / "figures" / f"quantum_wells.infinite_well.ground-{fig}.png").exists()


@pytest.mark.slow
@pytest.mark.parametrize("suite", ["quick", "full"])
def test_suite_passes(tmp_path, suite):
    code, results, _ = _run(tmp_path, "--suite", suite)
    failed = [e for e in results["cases"] if not e["passed"]]
    assert code == 0 and not failed, failed
