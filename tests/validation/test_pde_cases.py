"""PDE validation cases: registered, and their run produces checks, figures and data."""

import numpy as np
import pytest

from sciml.validation.cases.pde import FULL, QUICK, STUDY, PDESpec, _outcome
from sciml.validation.registry import all_cases, select_cases


def test_every_pde_problem_has_a_case():
    cases = all_cases()
    problems = {c.problem for n, c in cases.items() if n.startswith("pde.")}
    assert problems == {"poisson_1d", "poisson_2d", "helmholtz_2d", "peak",
                        "nonlinear_elliptic", "burgers", "allen_cahn"}
    quick = {c.name for c in select_cases("quick")}
    assert {f"pde.{n}" for n in QUICK} <= quick
    assert not {f"pde.{n}" for n in FULL} & quick
    assert set(STUDY) == {"burgers", "peak_2d", "peak_5d"}


@pytest.mark.parametrize("spec", [
    # Adam only: compiling L-BFGS was half this case's cost; PINN training with L-BFGS and its
    # history are tests/solvers/test_pinn.py's
    PDESpec("poisson_1d", net=dict(width=8, depth=1), n_points=32,
            config=dict(adam_steps=20, lbfgs_steps=0, log_every=10)),
    pytest.param(PDESpec("burgers", net=dict(width=8, depth=1), sampler="rad", n_points=64,
                         sampler_args=dict(n_candidates=256),
                         config=dict(rounds=2, adam_steps=20, lbfgs_steps=0, log_every=10)),
                 marks=pytest.mark.slow),  # 10 s; RAD is tested in tests/solvers/test_sampling
    # 19 s, most of it compiling the flow; AAS itself is tested in tests/solvers/test_sampling
    pytest.param(PDESpec("peak", dict(dim=3, alpha=10.0), net=dict(width=8, depth=1),
                         sampler="aas", n_points=64,
                         sampler_args=dict(flow_steps=5, flow_batch=32, n_layers=2, width=8),
                         config=dict(rounds=2, adam_steps=20, lbfgs_steps=5, log_every=10)),
                 marks=pytest.mark.slow),
], ids=lambda s: f"{s.problem}-{s.sampler}")
def test_case_outcome_holds_error_figure_and_data(spec):
    out = _outcome(spec, tolerance=1e9)
    (check,) = out.checks
    assert check.metric == "rel_l2" and np.isfinite(check.error) and check.passed
    assert set(out.figures) == {"solution", "training"}
    ds = out.data
    assert {"u_pinn", "u_ref", "residual", "points", "history_loss"} <= set(ds.variables)
    assert ds.attrs["rel_l2"] == check.error and ds.attrs["sampler"] == spec.sampler
    assert ds.points.shape[1] == len(ds.coord)
    assert "sampler" in out.info and "training" in out.info


@pytest.mark.slow
def test_allen_cahn_reaches_1e_3():
    # The slow target (≤ 1e-3 within 3 hours) with the full case's own settings:
    # measured 6.9e-4 in 409 s on one core of the 2-core machine (float64: tests/conftest.py)
    from sciml.validation.cases.pde import solve_pde

    _, err, _ = solve_pde(FULL["allen_cahn.rad"][0])
    assert err <= 1e-3
