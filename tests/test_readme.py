"""The README's Python examples: their imports resolve (fast), and each runs as written and
meets the accuracy its capability row claims (slow)."""

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_every_example_parses_and_its_imports_resolve():
    found = blocks()
    assert len(found) == len(CHECKS)
    for code in found:
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    importlib.import_module(alias.name)


# What each example must reach: the targets of the capability rows it demonstrates.
CHECKS = [
    # quantum_wells rows: rel. energy error <= 1e-5, psi L2 <= 1e-4 for every state returned
    "errs = [compare_with_exact(s, well) for s in states]\n"
    "assert all(e['energy_rel_error'] <= 1e-5 and e['psi_l2_error'] <= 1e-4 for e in errs), errs"
    "\nassert all(s.certified for s in states), [s.stats['certificate'] for s in states]",
    # pde.burgers.rad: rel. L2 <= 1e-3
    "assert reference_error(burgers, result.model) <= 1e-3",
    # operator.darcy.fno: test rel. L2 <= 2e-2
    "assert field_errors(result.model, test.a.values, test.u.values).mean() <= 2e-2",
    # linear_systems.dcdm rows: relative residual <= rtol, iterations <= 1/10 of CG's
    "r = jnp.linalg.norm(b - system.operator().mv(sol.value)) / jnp.linalg.norm(b)\n"
    "assert r <= 1e-6 and 10 * int(sol.stats['num_steps']) <= int(cg.stats['num_steps'])",
    # molecules.ks rows: |E - E_PySCF| <= 1e-7 Ha on the same grid
    "assert abs(float(sol.energy) - pyscf_energy(info, 'b3lyp')[0]) <= 1e-7",
    # atomistic.cu.md: relaxed energy within the test MAE per atom, positions within 0.01 Å
    "de = abs(relaxed['model'].get_potential_energy() - relaxed['EMT'].get_potential_energy())\n"
    "assert de / 107 <= provenance['test_errors']['all']['energy_mae'] * 1e-3 and gap <= 0.01",
]


@pytest.mark.slow
@pytest.mark.parametrize("index", [
    pytest.param(0, id="eigen"),
    pytest.param(1, id="pinn"),
    pytest.param(2, id="operator"),
    pytest.param(3, id="dcdm"),
    pytest.param(4, id="kohn_sham"),
    pytest.param(5, id="potentials"),
])
def test_example_runs_and_meets_its_target(index, tmp_path):
    code = blocks()[index] + "\n" + CHECKS[index] + "\n"
    env = {**os.environ, "SCIML_DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=3 * 3600)
    assert out.returncode == 0, out.stderr[-3000:]
