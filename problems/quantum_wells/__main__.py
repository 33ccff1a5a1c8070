"""Solve the three quantum wells with the eigen-PINN and write their figures.

    python -m sciml.problems.quantum_wells [--states N] [--wells NAME ...] [--seed S]
                                           [--out DIR] [--exact-only]

Prints the exact energies and, unless `--exact-only`, trains a PINN per state (float64)
and writes `<well>-wavefunction.png`, `<well>-error.png`, `<well>-training.png` and
`<well>.nc` into DIR. Beside the errors against the exact eigenpairs, the table shows each
state's certificate, computed without them (`EigenSolution`): bounds on the relative
energy error and the ψ L2 error, and whether both meet their tolerances (a state that does
not is also logged as a warning). An entry-point script, like the CLI, may reach every
package.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

WELLS = ("infinite_well", "finite_well", "finite_barrier")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sciml.problems.quantum_wells",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--states", type=int, default=1, help="lowest states per well")
    parser.add_argument("--out", default="quantum-wells-out", help="output directory")
    parser.add_argument("--exact-only", action="store_true", help="print exact energies only")
    parser.add_argument("--seed", type=int, default=0, help="network initialisation seed")
    parser.add_argument("--wells", nargs="+", choices=WELLS, default=list(WELLS),
                        help="which wells (default: all three)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.states < 1:
        parser.error("--states must be >= 1")

    import jax

    jax.config.update("jax_enable_x64", True)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from sciml.problems import get_problem

    for name in args.wells:
        p = get_problem(name)
        energies = ", ".join(f"{e:.12g}" for e in p.energies(args.states))
        print(f"{p!r}: exact E_1..{args.states} = {energies}")
    if args.exact_only:
        return 0

    import matplotlib.pyplot as plt

    from sciml.datasets import write_netcdf
    from sciml.io import atomic_path
    from sciml.validation.cases.quantum_wells import solve_well, well_figures

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"\n{'well':16} {'n':>2} {'E PINN':>20} {'E exact':>20} {'rel err E':>10} "
          f"{'L2 err psi':>10} {'E bound':>9} {'psi bound':>9} {'certified':>9} {'time s':>7}")
    for name in args.wells:
        ds = solve_well(name, args.states, seed=args.seed, progress=not args.no_progress)
        for s in ds.state.values:
            d = ds.sel(state=s)
            print(f"{name:16} {s:2d} {float(d.energy_pinn):20.12f} {float(d.energy_exact):20.12f}"
                  f" {float(d.energy_rel_error):10.2e} {float(d.psi_l2_error):10.2e}"
                  f" {float(d.energy_rel_bound):9.2e} {float(d.psi_bound):9.2e}"
                  f" {'yes' if int(d.certified) else 'NO':>9} {float(d.wall_time_s):7.1f}")
        for fig_name, fig in well_figures(ds).items():
            with atomic_path(out / f"{name}-{fig_name}.png") as tmp:
                fig.savefig(tmp, format="png", dpi=120)
            plt.close(fig)
        write_netcdf(ds, out / f"{name}.nc")
    print(f"\nfigures and data written to {out}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
