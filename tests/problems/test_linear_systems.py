"""Poisson systems on cell grids: the stencil operator against the sparse matrix, lineax
integration, null spaces (pockets), layouts, right-hand sides and second-order accuracy."""

import logging

import jax
import jax.numpy as jnp
import lineax as lx
import numpy as np
import pytest
import scipy.sparse.linalg as sla

from sciml.problems.linear_systems import (
    LAYOUT_KINDS,
    PoissonOperator,
    PoissonSystem,
    Stencil,
    is_held_out,
    layout,
    manufactured,
    sine_solution,
    smoke_rhs,
    smoke_velocity,
    test_seeds,
    training_seeds,
)


@pytest.fixture(autouse=True)
def x64():
    jax.config.update("jax_enable_x64", True)  # also set by conftest: exact comparisons


def _closed_box_with_pocket(n=12):
    """An all-Neumann 2-D box with a walled-in pocket: two floating components."""
    fluid = np.ones((n, n), bool)
    fluid[3:9, 3] = fluid[3:9, 8] = fluid[3, 3:9] = fluid[8, 3:9] = False
    return PoissonSystem(fluid, "neumann", pockets="project")


SYSTEMS = {
    "2d-walls-smoke": lambda: layout("walls", 12, seed=1, ndim=2),
    "2d-spheres-dirichlet": lambda: layout("spheres", 12, seed=2, ndim=2, boundary="dirichlet"),
    "2d-mixed-faces": lambda: layout("mixed", 10, seed=3, ndim=2, boundary=(
        "dirichlet", "neumann", "neumann", "neumann")),
    "2d-closed-pocket": _closed_box_with_pocket,
    "3d-boxes-smoke": lambda: layout("boxes", 8, seed=4),
    "3d-mixed-neumann": lambda: layout("mixed", 8, seed=5, boundary="neumann", pockets="project"),
}


@pytest.fixture(scope="module", params=list(SYSTEMS))
def system(request):
    return SYSTEMS[request.param]()


# --- the operator ------------------------------------------------------------------------------
def test_operator_matches_the_sparse_matrix(system):
    rng = np.random.default_rng(0)
    full, reduced = system.matrix(reduced=False), system.matrix()
    assert full.dtype == np.float64 and reduced.shape == (system.num_fluid,) * 2
    op = system.operator()
    x = rng.normal(size=(3, *system.shape))
    mv = jax.jit(jax.vmap(op.mv))  # jitted: op by op, each operation compiles on its own
    ax = np.asarray(mv(jnp.asarray(x)))
    np.testing.assert_allclose(ax.reshape(3, -1), (full @ x.reshape(3, -1).T).T, atol=1e-12)
    # on fluid vectors: the reduced matrix, and zero on solids
    xf = system.extend(system.restrict(x))
    af = np.asarray(mv(jnp.asarray(xf)))
    np.testing.assert_allclose(system.restrict(af), (reduced @ system.restrict(xf).T).T,
                               atol=1e-12)
    assert np.all(af[:, ~system.fluid] == 0)
    dense = np.asarray(op.as_matrix())
    np.testing.assert_allclose(dense, full.toarray(), atol=0)
    np.testing.assert_array_equal(np.asarray(lx.diagonal(op)), full.diagonal())
    assert abs(full - full.T).max() == 0


def test_definite_unless_components_float(system):
    eig = np.linalg.eigvalsh(system.matrix().toarray())
    assert system.is_definite == (len(system.floating) == 0)
    assert eig[0] > -1e-12
    assert np.sum(eig < 1e-10) == len(system.floating)  # one constant per floating component
    if system.is_definite:
        assert eig[0] > 1e-4


def test_stencil_is_generic_and_differentiable():
    """Any nonnegative weights (as a multigrid's summed coarse ones), batched and jitted, and
    the gradient in the weights against finite differences."""
    rng = np.random.default_rng(1)
    fluid = np.ones((5, 5, 5), bool)
    fluid[2, 2, 2] = False
    w = [rng.uniform(0.5, 3, fluid.shape) for _ in range(3)]
    for a in range(3):  # zero at the last index and on faces touching the solid cell
        idx = [slice(None)] * 3
        idx[a] = -1
        w[a][tuple(idx)] = 0
        w[a][(2, 2, 2)] = 0
        w[a][tuple(2 - (b == a) for b in range(3))] = 0
    e = np.where(fluid, rng.uniform(0, 2, fluid.shape), 0)
    st = Stencil(tuple(map(jnp.asarray, w)), jnp.asarray(e), jnp.asarray(fluid))
    # the reference: A p assembled face by face
    p = rng.normal(size=fluid.shape)
    ref = e * p
    for a in range(3):
        for i in zip(*np.nonzero(w[a]), strict=True):
            j = tuple(k + (b == a) for b, k in enumerate(i))
            ref[i] += w[a][i] * (p[i] - p[j])
            ref[j] += w[a][i] * (p[j] - p[i])
    ref = np.where(fluid, ref, p)
    np.testing.assert_allclose(np.asarray(jax.jit(Stencil.mv)(st, jnp.asarray(p))), ref, atol=1e-12)
    batch = jnp.asarray(np.stack([p, 2 * p]))
    np.testing.assert_allclose(np.asarray(st.mv(batch))[1], 2 * ref, atol=1e-12)
    # the diagonal: A applied to unit vectors
    diag = np.asarray(st.diagonal())
    assert diag[2, 2, 2] == 1 and diag[1, 2, 3] == pytest.approx(
        e[1, 2, 3] + sum(w[a][1, 2, 3] + w[a][tuple(k - (b == a) for b, k in enumerate((1, 2, 3)))]
                         for a in range(3)))

    def energy(weights, dirichlet):
        s = Stencil(weights, dirichlet, st.fluid)
        return jnp.vdot(jnp.asarray(p), s.mv(jnp.asarray(p)))

    gw, ge = jax.grad(energy, argnums=(0, 1))(st.weights, st.dirichlet)
    step = 1e-6
    for a, i in ((0, (1, 1, 1)), (2, (3, 0, 2))):
        bumped = list(st.weights)
        bumped[a] = bumped[a].at[i].add(step)
        fd = (energy(tuple(bumped), st.dirichlet) - energy(st.weights, st.dirichlet)) / step
        assert float(gw[a][i]) == pytest.approx(float(fd), rel=1e-5)
        assert float(gw[a][i]) == pytest.approx((p[i] - p[tuple(k + (b == a) for b, k in
                                                                  enumerate(i))]) ** 2)
    np.testing.assert_allclose(np.asarray(ge), np.where(fluid, p**2, 0), atol=1e-12)
    with pytest.raises(ValueError, match="p must have shape"):
        st.mv(jnp.zeros((4, 4, 4)))


def test_lineax_operator():
    system = layout("spheres", 10, seed=0, ndim=2)
    op = system.operator()
    assert isinstance(op, PoissonOperator) and op.definite and op.stencil.shape == (10, 10)
    assert lx.is_symmetric(op) and lx.is_positive_semidefinite(op)
    assert not (lx.is_negative_semidefinite(op) or lx.is_diagonal(op) or lx.is_tridiagonal(op)
                or lx.has_unit_diagonal(op) or lx.is_lower_triangular(op))
    assert op.T is op and lx.materialise(op) is op and lx.linearise(op) is op
    assert op.in_structure() == jax.ShapeDtypeStruct((10, 10), jnp.float64)
    u, b = manufactured(system, seed=1)

    @jax.jit
    def solve(operator, rhs):
        return lx.linear_solve(operator, rhs, lx.CG(rtol=1e-10, atol=1e-10)).value

    np.testing.assert_allclose(np.asarray(solve(op, jnp.asarray(b))), u, atol=1e-7)
    assert system.operator(jnp.float32).in_structure().dtype == jnp.float32
    with pytest.raises(ValueError, match="too many for a dense matrix"):
        layout("empty", 28).operator().as_matrix()


# --- null spaces -------------------------------------------------------------------------------
def test_pockets_made_solid(caplog):
    fluid = np.ones((10, 10), bool)
    fluid[2:7, 2] = fluid[2:7, 6] = fluid[2, 2:7] = fluid[6, 2:7] = False  # 3×3 pocket inside
    with caplog.at_level(logging.INFO):
        system = PoissonSystem(fluid, "dirichlet")
    assert system.removed_cells == 9 and system.removed_components == 1
    assert system.is_definite and not system.fluid[3:6, 3:6].any()
    assert "1 floating components (9 cells) made solid" in caplog.text
    kept = PoissonSystem(fluid, "dirichlet", pockets="project")
    assert kept.floating == (int(kept.components[4, 4]),) and not kept.is_definite
    with pytest.raises(ValueError, match="every fluid cell floats.*pockets='project'"):
        PoissonSystem(np.ones((6, 6), bool), "neumann")


def test_closed_box_projects_and_solves():
    system = _closed_box_with_pocket()
    assert len(system.floating) == 2
    b = system.check_rhs(smoke_rhs(system, seed=3))
    for c in system.floating:
        assert abs(b[system.components == c].sum()) < 1e-13
    assert np.linalg.norm(b) > 0.1
    x = lx.linear_solve(system.operator(), jnp.asarray(b), lx.CG(rtol=1e-10, atol=1e-10)).value
    x = system.project(x)
    np.testing.assert_allclose(np.asarray(system.operator().mv(x)), b, atol=1e-9)
    # project: numpy and jnp, batched and jitted; means removed, the image under A kept
    r = np.random.default_rng(0).normal(size=(2, *system.shape)) * system.fluid
    pr = system.project(r)
    for c in system.floating:
        np.testing.assert_allclose(pr[:, system.components == c].mean(axis=1), 0, atol=1e-14)
    np.testing.assert_allclose(np.asarray(jax.jit(system.project)(jnp.asarray(r))), pr,
                               atol=1e-14)
    np.testing.assert_allclose(system.project(pr), pr, atol=1e-14)
    a = system.matrix(reduced=False)
    np.testing.assert_allclose(a @ pr[0].ravel(), a @ r[0].ravel(), atol=1e-12)
    square = r[0, :6, :6]
    assert layout("empty", 6, ndim=2).project(square) is square  # nothing floats


# --- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, error, match", [
    ((np.ones((4, 4)),), {}, TypeError, "'fluid' must be a boolean array"),
    ((np.ones((4, 5), bool),), {}, ValueError, r"square \(n, n\) or cubic"),
    ((np.ones(4, bool),), {}, ValueError, "square"),
    ((np.zeros((4, 4), bool),), {}, ValueError, "the mask has no fluid cells"),
    ((np.ones((4, 4), bool), "periodic"), {}, ValueError, "face x- must be 'dirichlet'"),
    ((np.ones((4, 4), bool), ("dirichlet",) * 6), {}, ValueError, "a tuple of 4"),
    ((np.ones((4, 4), bool),), {"pockets": "keep"}, ValueError, "'pockets' must be"),
])
def test_constructor_errors(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        PoissonSystem(*args, **kwargs)


def test_check_rhs_errors():
    system = _closed_box_with_pocket()
    b = smoke_rhs(system, seed=0)
    assert system.check_rhs(b) is b
    with pytest.raises(ValueError, match=r"must have shape \(12, 12\)"):
        system.check_rhs(b[:-1])
    bad = b.copy()
    bad[5, 5], bad[0, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match="has 2 non-finite entries"):
        system.check_rhs(bad)
    bad = b.copy()
    bad[3, 3] = 1.0
    with pytest.raises(ValueError, match="nonzero on 1 solid cells.*b\\[~system.fluid\\] = 0"):
        system.check_rhs(bad)
    bad = b.copy()
    bad[5, 5] += 1.0
    with pytest.raises(ValueError, match=r"floating component \d \(16 cells.*system.project"):
        system.check_rhs(bad)
    system.check_rhs(system.project(bad))


def test_layout_errors_and_seed_convention():
    with pytest.raises(ValueError, match="'kind' must be one of empty, spheres"):
        layout("sphere", 8)
    with pytest.raises(ValueError, match="'ndim' must be 2 or 3"):
        layout("empty", 8, ndim=1)
    with pytest.raises(ValueError, match="'seed' must be a non-negative integer"):
        layout("boxes", 8, seed=-1)
    with pytest.raises(ValueError, match="sine_solution needs an all-Dirichlet box"):
        sine_solution(layout("empty", 8, boundary="smoke"))
    assert not is_held_out(999) and is_held_out(1000)
    assert list(training_seeds(2)) == [0, 1] and list(test_seeds(2)) == [1000, 1001]


# --- layouts -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", LAYOUT_KINDS)
def test_layouts(kind):
    a = layout(kind, 32, seed=1000)
    assert np.array_equal(a.fluid, layout(kind, 32, seed=1000).fluid)
    assert a.fluid.mean() > 0.6 and a.is_definite
    if kind != "empty":
        assert a.boundary == ("neumann",) * 5 + ("dirichlet",)
        assert not np.array_equal(a.fluid, layout(kind, 32, seed=1001).fluid)
    # one geometry at every resolution: the 2n mask, block-averaged, agrees with the n one
    for ndim, n in ((2, 32), (3, 16)):
        coarse = layout(kind, n, seed=7, ndim=ndim).fluid
        fine = layout(kind, 2 * n, seed=7, ndim=ndim).fluid
        blocks = fine.reshape(sum(((n, 2),) * ndim, ())).mean(axis=tuple(range(1, 2 * ndim, 2)))
        assert np.mean((blocks > 0.5) == coarse) >= 0.9


# --- right-hand sides --------------------------------------------------------------------------
def test_manufactured_is_exact(system):
    u, b = manufactured(system, seed=2)
    assert u.dtype == b.dtype == np.float64 and np.all(u[~system.fluid] == 0)
    np.testing.assert_array_equal(manufactured(system, seed=2)[1], b)
    au = np.asarray(system.operator().mv(jnp.asarray(u)))
    assert np.linalg.norm(au - b) <= 1e-12 * np.linalg.norm(b)
    np.testing.assert_allclose(system.project(u), u, atol=1e-14)
    system.check_rhs(b)


def test_smoke_rhs_is_the_divergence_a_projection_removes(system):
    b = system.check_rhs(smoke_rhs(system, seed=5))
    assert np.all(b[~system.fluid] == 0) and np.linalg.norm(b) > 0
    np.testing.assert_array_equal(b, smoke_rhs(system, seed=5))
    # least squares: the consistent solution also where components float
    p = np.linalg.lstsq(system.matrix().toarray(), system.restrict(b), rcond=None)[0]
    p, f = system.extend(p), system.fluid
    velocity = []
    for a, u in enumerate(smoke_velocity(system, seed=5)):
        lo, hi = (system.boundary[2 * a + s] == "dirichlet" for s in (0, 1))
        ext = np.concatenate([np.take(f, [0], axis=a) & lo, f, np.take(f, [-1], axis=a) & hi],
                             axis=a)
        is_open = np.take(ext, range(ext.shape[a] - 1), axis=a) & np.take(
            ext, range(1, ext.shape[a]), axis=a)
        ghost = np.concatenate([np.take(-p, [0], axis=a), p, np.take(-p, [-1], axis=a)], axis=a)
        velocity.append(u - np.where(is_open, np.diff(ghost, axis=a), 0))  # u −= p_j − p_i
    div = sum(np.diff(u, axis=a) for a, u in enumerate(velocity))
    assert np.abs(div[system.fluid]).max() < 1e-10 * np.abs(b).max()


@pytest.mark.parametrize("ndim, sizes", [(2, (32, 64, 128)), (3, (16, 32))])
def test_second_order_against_the_sine_solution(ndim, sizes):
    """Measured max-error ratios per halving of h: 3.99, 4.00 (2-D), 3.96 (3-D)."""
    errors = []
    for n in sizes:
        system = layout("empty", n, ndim=ndim)
        u, b = sine_solution(system)
        if ndim == 2:
            x = sla.spsolve(system.matrix().tocsc(), system.restrict(b))
        else:
            x, info = sla.cg(system.matrix(), system.restrict(b), rtol=1e-12, maxiter=2000)
            assert info == 0
        errors.append(np.abs(system.extend(x) - u).max())
    ratios = np.array(errors[:-1]) / errors[1:]
    assert np.all((3.5 < ratios) & (ratios < 4.5)), ratios


def test_params_repr_reference(system):
    assert set(system.params) == {"ndim", "n", "boundary", "pockets", "fluid_cells"}
    assert repr(system).startswith("PoissonSystem(ndim=")
    assert system.reference.kind == "analytic"
    assert layout("empty", 4).params["boundary"] == "dirichlet"
