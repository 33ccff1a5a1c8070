"""The barrier reference near the limits of float64, against an 80-digit reference.

The literals below were computed with mpmath at 80 digits or more (more for wider barriers)
by `_mpmath_reference`: each eigenvalue by bisection on the Sturm count (zeros of the shot
from x = 0 in (0, L)) down to a relative width of 1e-70, ψ by that shot (ψ(0) = 0,
ψ'(0) = 1) normalised by mpmath.quad over the wells and 40 pieces of the barrier, with the
barrier's edges center ± width/2 taken exactly from the float64 parameters.
`test_literals_reproduce_with_mpmath` (slow, needs mpmath) recomputes them.

Calibration (same reference, lowest four states; energy: relative error, ψ: L2 error of the
normalised eigenfunction; the scripts sampled the parameters, these are their maxima):
- 61 centred barriers, widths 0.1-0.6, sqrt(height)·width 1 to 158: every accepted state
  within 3.3e-16 in energy and 2.6e-15 in ψ, all states accepted up to 30.5; from about 31
  the lowest pair is refused (ValueError: its splitting is below rounding);
- 70 random barriers (L 0.4-2.5, height 10-4e6, any centre, sqrt(height)·width up to 60):
  energies <= 4.2e-16, ψ <= 2.8e-15, none refused;
- 43 barriers tuned so that a level of one well equals one of the other (the worst case for
  how a pair shares the two wells): energies <= 4.8e-16; 113 states accepted, ψ <= 1.3e-14;
  34 refused, 23 of them measured above 1e-12 (up to 4.8e-4), the others 2.6e-14 and up.
  Above the rounding floor the measured ψ error was 0.006-0.05 of the estimate the
  reference refuses above 1e-12.
Before the wells were matched across the barrier by its exponentials, energies were off by
up to 1e-9 and eigenfunctions by up to 1.4 in L2 on two of the cases below, silently.
"""

import math

import numpy as np
import pytest

from sciml.problems import get_problem
from sciml.problems.quantum_wells import FiniteBarrier

TOL = 1e-12  # the reference's claimed tolerance

CASES = [
    pytest.param(  # centred, sqrt(height)·width = 30: the lowest pair split by 7.6e-13
        dict(L=1.0, height=22500.0, width=0.2, center=0.5),
        [0.148, 0.44, 0.5, 0.5599999999999999, 0.764, 0.948],
        [59.678279125820414862, 59.678279125821175969, 238.70267558479819116,
         238.70267558480160878],
        [[1.4270052076486917, 0.00020178273513557555, 5.0402338592550977e-8,
          0.00020178273513557387, 1.518445732833987, 0.61311739219586703],
         [1.4270052076487014, 0.00020178272884065953, 1.3962385943356843e-70,
          -0.00020178272884065785, -1.5184457328339877, -0.61311739219587283],
         [1.1832013267225029, -0.00041332467722693198, -1.0701871240782015e-7,
          -0.00041332467722692856, -0.75810028610809395, 1.128563036012698],
         [1.1832013267224916, -0.00041332466337211658, -1.1051449918754307e-70,
          0.00041332466337211315, 0.75810028610813333, -1.1285630360127096]],
        id="h22500-w0.2-c0.5-L1"),
    pytest.param(  # centred, 28.3: split 2.5e-11 (was returned as 1.3e-7)
        dict(L=1.0, height=5000.0, width=0.4, center=0.5),
        [0.111, 0.38, 0.5, 0.62, 0.823, 0.961],
        [99.980629963562372516, 99.980629963587006838, 399.54626821685332778,
         399.54626821708054208],
        [[1.5976309078667231, 0.00093273172278904839, 4.1947478760607174e-7,
          0.00093273172278904839, 1.7485508399193153, 0.67810456359090255],
         [1.5976309078669841, 0.0009327316284634203, -2.8672907703588751e-69,
          -0.0009327316284634203, -1.7485508399194053, -0.67810456359104655],
         [1.4212081848322084, -0.0022170792087292994, -1.2942037844198677e-6,
          -0.0022170792087292994, -0.68820911784959977, 1.2530118886391015],
         [1.4212081848321895, -0.0022170788309840792, 1.5124172586241373e-68,
          0.0022170788309840792, 0.68820911785157337, -1.2530118886399642]],
        id="h5000-w0.4-c0.5-L1"),
    pytest.param(  # centred, 21.2 (was refused as inseparable)
        dict(L=1.0, height=5000.0, width=0.3, center=0.5),
        [0.1295, 0.41, 0.5, 0.5900000000000001, 0.7935, 0.9545],
        [74.417253264943496215, 74.417253281412349218, 297.49120870685228957,
         297.4912088109546298],
        [[1.4893202238698589, 0.0029982100989579429, 1.0831840944237423e-5, 0.0029982100989579546,
          1.6203149374534892, 0.63378222165945331],
         [1.4893202240669374, 0.002998190528816191, 1.3979779791938951e-66, -0.0029981905288162027,
          -1.6203149375019739, -0.63378222177161199],
         [1.3054931708448949, -0.0065986559953786448, -2.7550713133035921e-5,
          -0.0065986559953786699, -0.67547583651898374, 1.170358249196651],
         [1.3054931707019591, -0.0065985984694758533, -3.2388568906449725e-67,
          0.0065985984694758784, 0.67547583759343708, -1.1703582495864557]],
        id="h5000-w0.3-c0.5-L1"),
    pytest.param(  # off-centre, 94.9: each state in one well (was matched in the wrong one)
        dict(L=1.0, height=100000.0, width=0.3, center=0.3),
        [0.0555, 0.21, 0.3, 0.38999999999999996, 0.6755, 0.9285],
        [32.254800944940803776, 129.01896570701488441, 290.29177903698588038,
         420.71065855643235172],
        [[1.7715131013511179e-43, 3.7850194127270033e-35, 8.6359915354206923e-23,
          1.9704086470226076e-10, 1.8314844709787659, 0.7510865347390809],
         [5.46573833017152e-43, 7.8532709189236002e-35, 1.7673075120466027e-22,
          3.9771655331666916e-10, 0.98459785167085882, -1.3800125848809274],
         [2.3641326846603762e-42, 1.2524094739851969e-34, 2.7544225871977004e-22,
          6.0577981454605971e-10, -1.3021757084910477, 1.7844885174471119],
         [3.2809001595255786, 1.4031846986927778e-9, 6.4998752370745786e-22,
          3.0108921610173439e-34, -1.3948104178270795e-42, -3.8096265421300365e-42]],
        id="h100000-w0.3-c0.3-L1"),
    pytest.param(  # L = 2.5, off-centre, 49.3
        dict(L=2.5, height=1743.05, width=1.1798, center=1.4792),
        [0.32904100000000003, 1.1252600000000001, 1.4792, 1.8331400000000002, 2.245769,
         2.4439830000000002],
        [11.832934345726448352, 47.323182611665253421, 47.681297354354735943,
         106.44429139881505503],
        [[1.3395183020530734, 6.6416418708108763e-6, 2.6702465572985331e-12,
          1.0735623564634591e-18, 8.9433963793133853e-23, 2.2322619012217173e-23],
         [1.1385436844009842, -1.4693914745032646e-5, -6.8755844128555416e-12,
          -3.217227452381908e-18, -3.1835403718049156e-20, -1.2158779793445264e-20],
         [1.7599680259177024e-20, 4.5938913684793753e-18, 9.8025759569766189e-12,
          2.0917014184403744e-5, 2.0604832514100629, 0.79073282864148559],
         [-0.37053038132984198, 2.6138079984281037e-5, 1.5804060027446676e-11,
          9.5557253865619877e-18, -6.5648603155893343e-22, -7.2349074916041825e-22]],
        id="h1743.05-w1.1798-c1.479-L2.5"),
    pytest.param(  # tuned to degeneracy (left level 1 = right level 2), accepted: est. 2.6e-13
        dict(L=1.0, height=1000.0, width=0.1, center=0.33928360032187926),
        [0.10703493211909533, 0.3092836003218793, 0.33928360032187926, 0.36928360032187924,
         0.6396773241899087, 0.9206068680418443],
        [23.902483212257956355, 94.239796285261911186, 96.733345040226154975,
         214.36693156630141013],
        [[0.011860359200301953, 0.02855628359971858, 0.05967715914652451, 0.14717579668036594,
          1.7317580364574253, 0.66755466498055537],
         [1.5218779834805839, 0.34165649984875725, 0.21280484712050252, 0.26953777837075176,
          0.42996381111515103, -0.85869975907447919],
         [1.5244175058302415, 0.25756264266319553, 0.0357117744397085, -0.1550867478587613,
          -0.49330040760595273, 0.88685102427546575],
         [0.08758281981643189, -0.10275945767685035, -0.20763682605310756, -0.46818502534013078,
          1.4862997508274428, -1.613231881171177]],
        id="h1000-w0.1-c0.3393-L1"),
]


@pytest.mark.parametrize("params, x, energies, psi", CASES)
def test_inside_the_limit_matches_an_80_digit_reference(params, x, energies, psi):
    p = get_problem("finite_barrier", **params)
    assert p.reference.tolerance == TOL
    got = p.energies(4)
    np.testing.assert_allclose(got, energies, rtol=TOL, atol=0)
    # the tunnelling splittings themselves (down to 7.6e-13), not just E to 1e-12
    np.testing.assert_allclose(np.diff(got)[::2], np.diff(energies)[::2], rtol=0.05)
    for i in range(4):
        np.testing.assert_allclose(p.eigenfunction(i + 1, np.array(x)), psi[i], rtol=0,
                                   atol=TOL, err_msg=f"state {i + 1}")


@pytest.mark.parametrize(
    "params, state, match",
    [
        # centred, sqrt(height)·width = 31 and 35.4: the pair's splitting is below rounding
        (dict(height=24025.0, width=0.2), 1, r"sqrt\(height\)·width = 31\b.*up to about "
         r"sqrt\(height\)·width = 30; lower `height` or `width`"),
        (dict(height=5000.0, width=0.5), 2, r"sqrt\(height\)·width = 35\.36"),
        # sqrt(height)·width = 9.5 but tuned to degeneracy: measured ψ error 1.1e-12
        (dict(height=1000.0, width=0.3, center=0.3725056771801918), 2,
         r"center=0\.372506.*nearly degenerate.*`height` or `width`, or move `center`"),
    ],
)
def test_just_outside_the_limit_raises_naming_the_parameters(params, state, match):
    p = FiniteBarrier(**params)
    with pytest.raises(ValueError, match=r"FiniteBarrier\(L=1, height=.*width=.*center=.*"
                                         r"eigenvalue \d cannot be separated.*1e-12 tolerance"):
        p.energies(4)
    with pytest.raises(ValueError, match=match):
        p.state(state)


def test_a_refused_pair_leaves_the_resolved_states_usable():
    # near-degenerate wells: states 2 and 3 mix unresolvably, 1 and 4 sit in one well
    p = FiniteBarrier(height=1000.0, width=0.3, center=0.3725056771801918)
    for i in (2, 3):
        with pytest.raises(ValueError, match="nearly degenerate"):
            p.state(i)
    xq, wq = p.quadrature()
    psi = np.stack([p.eigenfunction(i, xq) for i in (1, 4)])
    np.testing.assert_allclose((psi * wq) @ psi.T, np.eye(2), atol=TOL)


def _mpmath_reference(params, x, n_states=4):
    """Energies and normalised ψ at x of the lowest states, at 80+ digits (module docstring)."""
    mp = pytest.importorskip("mpmath")
    L, h, w, c = (params.get(k, d) for k, d in (("L", 1.0), ("height", 100.0),
                                                  ("width", 0.2), ("center", None)))
    c = L / 2 if c is None else c
    mp.mp.dps = max(80, int(math.sqrt(h) * w / 1.15) + 60)
    L, h, a, b = mp.mpf(L), mp.mpf(h), mp.mpf(c) - mp.mpf(w) / 2, mp.mpf(c) + mp.mpf(w) / 2
    regions = [(mp.mpf(0), a, mp.mpf(0)), (a, b, h), (b, L, mp.mpf(0))]

    def step(y, q, d):  # (ψ, ψ') across a stretch d of constant V, q = E - V
        k = mp.sqrt(abs(q))
        if q > 0:
            return mp.cos(k * d) * y[0] + mp.sin(k * d) / k * y[1], \
                -k * mp.sin(k * d) * y[0] + mp.cos(k * d) * y[1]
        if q < 0:
            return mp.cosh(k * d) * y[0] + mp.sinh(k * d) / k * y[1], \
                k * mp.sinh(k * d) * y[0] + mp.cosh(k * d) * y[1]
        return y[0] + d * y[1], y[1]

    def shot(e, xx):
        y = (mp.mpf(0), mp.mpf(1))
        for lo, hi, v in regions:
            if xx <= lo:
                break
            y = step(y, e - v, min(xx, hi) - lo)
        return y[0]

    def count(e):
        y, zeros = (mp.mpf(0), mp.mpf(1)), 0
        for lo, hi, v in regions:
            new = step(y, e - v, hi - lo)
            if e > v:
                k = mp.sqrt(e - v)
                phi = mp.atan2(y[0], y[1] / k)
                zeros += int(mp.floor((phi + k * (hi - lo)) / mp.pi) - mp.floor(phi / mp.pi))
            elif y[0] * new[0] < 0:
                zeros += 1
            y = new
        return zeros - (1 if y[0] == 0 else 0)

    energies, psis = [], []
    pieces = [mp.mpf(0), a] + [a + (b - a) * i / 40 for i in range(1, 40)] + [b, L]
    for n in range(1, n_states + 1):
        lo, hi = mp.mpf(0), h + (n * mp.pi / L) ** 2 + 1
        while hi - lo > mp.mpf(10) ** (10 - mp.mp.dps) * hi:
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if count(mid) >= n else (mid, hi)
        e = (lo + hi) / 2
        norm = mp.sqrt(mp.quad(lambda xx, e=e: shot(e, xx) ** 2, pieces))
        energies.append(float(e))
        psis.append([float(shot(e, mp.mpf(xx)) / norm) for xx in x])
    return np.array(energies), np.array(psis)


@pytest.mark.slow
@pytest.mark.parametrize("params, x, energies, psi", CASES)
def test_literals_reproduce_with_mpmath(params, x, energies, psi):
    e, p = _mpmath_reference(params, x)
    np.testing.assert_allclose(e, energies, rtol=1e-15)
    np.testing.assert_allclose(p, psi, rtol=1e-14, atol=1e-50)  # odd states: 0 at L/2
