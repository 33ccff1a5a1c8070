"""The contract of an operator-learning problem: a random input function, a reference
solver, and one way to sample (input, output) pairs on grids.

Every family samples the same way: `problem.sample(seed, indices, stream=s,
resolutions=rs)` returns `{n: {input: array, output: array}}` with arrays of shape
`(len(indices), *problem.shape(n))` on the grid `problem.grid(n)` along each of
`problem.dims`. Sample `i` of stream `s` depends only on (seed, s, i) (`sample_rng`), so a
sample has the same bits whatever batch it was drawn in, and datasets can be generated in
any chunks, on any executor, and extended later.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from sciml import checks
from sciml.problems.base import Problem
from sciml.problems.operator_learning._grf import sample_rng

Samples = dict[int, dict[str, np.ndarray]]


class OperatorLearningProblem(Problem):
    """An operator from an input function to an output function, with a sampler of random
    inputs and a reference solver.

    Attributes:
        input, output: the names of the input and output functions (`"a"`, `"u"`).
        dims: the grid dimensions, e.g. `("x", "y")`.
        resolutions: the standard grid sizes, points (or cells) per dimension, made by
            `sample` by default; others may be asked for where the method allows them
            (a divisor of the solve grid, say).
        grf: the random input field; `grf.draw(rng)` gives one input's coefficients.
    """

    input: ClassVar[str]
    output: ClassVar[str]
    dims: ClassVar[tuple[str, ...]]
    resolutions: ClassVar[tuple[int, ...]]

    @abc.abstractmethod
    def grid(self, n: int) -> np.ndarray:
        """Coordinates along each grid dimension at resolution `n`, shape (n,)."""

    def shape(self, n: int) -> tuple[int, ...]:
        """The grid shape at resolution `n`: `(n,) * len(dims)`."""
        return (int(n),) * len(self.dims)

    def draw(self, seed: int, index: int, *, stream: int = 0) -> np.ndarray:
        """The random coefficients of input `index` of `stream` (`sample_rng`)."""
        return self.grf.draw(sample_rng(seed, index, family=self.name, stream=stream))

    @abc.abstractmethod
    def sample(
        self,
        seed: int,
        indices: Sequence[int],
        *,
        stream: int = 0,
        resolutions: Sequence[int] | None = None,
    ) -> Samples:
        """Samples `indices` of `stream`, each from one reference solve, on the grids of
        `resolutions` (default `self.resolutions`).

        Returns:
            `{n: {self.input: array, self.output: array}}`, arrays of shape
            `(len(indices), *self.shape(n))`, float64.
        """

    # --- helpers for implementations -------------------------------------------------------
    def _resolutions(self, resolutions: Sequence[int] | None) -> tuple[int, ...]:
        return checks.ints("resolutions", self.resolutions if resolutions is None else resolutions)

    def _empty(self, count: int, resolutions: tuple[int, ...]) -> Samples:
        return {
            n: {v: np.empty((count, *self.shape(n))) for v in (self.input, self.output)}
            for n in resolutions
        }


def check_indices(indices: Sequence[int]) -> list[int]:
    """`indices` as a list of non-negative ints; a bare integer is refused (pass `[i]`)."""
    if isinstance(indices, int | np.integer):
        raise TypeError(f"indices must be a sequence of sample indices, e.g. [{indices}]")
    return list(checks.ints("indices", indices, low=0))
