"""PINN training end to end on small problems, against their exact solutions."""

import numpy as np
import pytest

from sciml.pinn import HardConstraint
from sciml.problems.pde import NonlinearElliptic, Peak, Poisson1D, Poisson2D
from sciml.solvers.pinn import (
    PINNConfig,
    build_network,
    relative_l2,
    train_pinn,
    trial_function,
)
from sciml.solvers.sampling import Quadrature, Uniform


def test_poisson_1d_hard_constraint_with_resampling(getkey):
    p = Poisson1D()
    net = build_network("mlp", p, key=getkey(), width=24, depth=2)
    res = train_pinn(p, net, Uniform(128), PINNConfig(rounds=4, adam_steps=1600,
                                                      learning_rate=3e-3, lbfgs_steps=2000),
                     key=getkey(), eval_every_round=True)
    assert isinstance(res.model, HardConstraint)
    assert relative_l2(p, res.model) < 3e-3
    assert res.n_points_used == 128 * 5  # a fresh set per round and one for L-BFGS
    assert list(res.history.phase.values[[0, -1]]) == ["adam 1/4", "lbfgs"]
    assert res.history.rel_l2.notnull().sum() == 4


def test_poisson_1d_soft_constraint(getkey):
    p = Poisson1D()
    net = build_network("mlp", p, key=getkey(), width=24, depth=2)
    res = train_pinn(p, net, Uniform(128, resample=False),
                     PINNConfig(constraint="soft", adam_steps=1500, learning_rate=3e-3,
                                lbfgs_steps=800), key=getkey())
    assert not isinstance(res.model, HardConstraint)
    assert "boundary" in res.history
    assert relative_l2(p, res.model) < 1e-2


def test_deep_ritz_energy_loss(getkey):
    p = NonlinearElliptic()
    net = build_network("mlp", p, key=getkey(), width=16, depth=2)
    res = train_pinn(p, net, Quadrature(8, 4),
                     PINNConfig(loss="energy", adam_steps=800, learning_rate=3e-3,
                                lbfgs_steps=300), key=getkey())
    # the energy is minimal at the solution: trained energy lies just above the exact one
    final = float(res.history.loss.values[-1])
    assert p.exact_energy() <= final + 1e-9
    assert final - p.exact_energy() < 1e-3
    assert relative_l2(p, res.model) < 2e-2


def test_configuration_errors(getkey):
    p2 = Poisson2D()
    net = build_network("mlp", p2, key=getkey())
    with pytest.raises(ValueError, match="soft"):
        trial_function(p2, net, "hard")
    with pytest.raises(ValueError, match="hard"):
        train_pinn(p2, net, Uniform(8), PINNConfig(loss="energy"), key=getkey())
    with pytest.raises(ValueError, match="energy functional"):
        train_pinn(Peak(), build_network("mlp", Peak(), key=getkey()), Uniform(8),
                   PINNConfig(loss="energy"), key=getkey())
    with pytest.raises(ValueError, match="rounds"):
        PINNConfig(rounds=0)
    with pytest.raises(ValueError, match="unknown network"):
        build_network("kan", p2, key=getkey())


def test_causal_weights_follow_time_slabs():
    """The causal loss weights slab k by exp(−ε Σ_{j<k} L_j): with a residual that is zero
    before t = 0.5 and 1 after, the weights are 1 up to the first bad slab and decay after."""
    import jax.numpy as jnp

    from sciml.problems import get_problem
    from sciml.solvers.pinn import _causal_mean

    p = get_problem("allen_cahn")
    t = (jnp.arange(64) + 0.5) / 64
    pts = jnp.stack([jnp.zeros(64), t], axis=1)
    dens = jnp.where(t > 0.5, 1.0, 0.0)
    loss, aux = _causal_mean(p, pts, jnp.ones(64), dens, eps=0.5, bins=8)
    per_slab = np.array([0, 0, 0, 0, 1, 1, 1, 1.0])
    cw = np.exp(-0.5 * (np.cumsum(per_slab) - per_slab))
    assert float(loss) == pytest.approx(np.mean(cw * per_slab), rel=1e-12)
    assert float(aux["causal_min"]) == pytest.approx(np.exp(-1.5), rel=1e-12)
    with pytest.raises(ValueError, match="causal"):
        PINNConfig(causal=-1.0)
