"""The draw of a chooser's month: a main assistant (or none) by the awareness-weighted
logit, and every other open assistant as a secondary by its own draw (docs/model.md).

Everything here works on firms x choosers arrays of float32, a block of choosers at a
time (sim/users.py), one whole row of choosers per numpy call."""

from __future__ import annotations

import numpy as np

NONE = -1
# Choosers drawn at once: a block's firms x choosers arrays stay in the processor's cache.
BLOCK = 1 << 12


def draw_months(
    weighted: np.ndarray,
    rng: np.random.Generator,
    outside_weight: float,
    stick: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each chooser's main assistant (NONE for the outside option) and the bitmask of
    every assistant they use, from ``V + ln a - s0`` (`weighted`, firms x choosers, at
    most 32 firms; overwritten), with the outside option weighing `outside_weight`
    (``e^(u0 - s0)``); with `stick` (firms x 1), from the stationary law (main weights
    over review rates).

    With weights ``w = e^(V + ln a - s0)`` the secondary odds are ``w`` itself (used with
    probability ``w / (1 + w)``, one uniform each), and the main choice is the logit
    ``w_j / (e^(u0 - s0) + sum_k w_k)``, drawn by inverting its cumulative weights at one
    uniform (the law of the argmax of utility plus Gumbel noise). More than BLOCK
    choosers are drawn a block at a time."""
    if weighted.shape[1] > BLOCK:
        main = np.empty(weighted.shape[1], dtype=np.int8)
        used = np.empty(weighted.shape[1], dtype=np.uint32)
        for start in range(0, weighted.shape[1], BLOCK):
            part = slice(start, start + BLOCK)
            block = np.ascontiguousarray(weighted[:, part])
            main[part], used[part] = draw_months(block, rng, outside_weight, stick)
        return main, used
    n_firms, choosers = weighted.shape
    weights = np.exp(weighted, out=weighted)
    draws = rng.random(weights.shape, dtype=np.float32)
    # a secondary is used when (w + 1) * draw < w
    scaled = weights + np.float32(1.0)
    draws *= scaled
    flags = np.less(draws, weights, out=scaled)  # 1.0 for a secondary, as float32
    used = pack_rows(flags)
    if stick is not None:
        weights /= stick
    cumulative = running_sum(weights)
    total = cumulative[-1] + np.float32(outside_weight)
    threshold = (1.0 - rng.random(choosers, dtype=np.float32)) * total
    main = np.add.reduce(cumulative < threshold, axis=0, dtype=np.int8)
    main[main >= n_firms] = NONE
    on = main >= 0
    bits = np.left_shift(np.uint32(1), np.maximum(main, 0).astype(np.uint32))
    bits |= used
    bits *= on
    return main, bits


def pack_rows(flags: np.ndarray) -> np.ndarray:
    """The rows of `flags` (bits x columns, at most 32 rows) packed into one uint32 mask
    per column, row k as bit k (a product with the powers of two, exact in float32 up
    to 24 rows, else in float64)."""
    dtype = np.float32 if len(flags) <= 24 else np.float64
    powers = np.ldexp(np.ones(len(flags), dtype=dtype), np.arange(len(flags)))
    return (powers @ flags.astype(dtype, copy=False)).astype(np.uint32)


def running_sum(values: np.ndarray) -> np.ndarray:
    """Cumulative sums down the rows of `values` (rows x columns), in place: one addition
    of whole rows per row, quicker than ``np.cumsum(axis=0)`` for a few long rows."""
    for row in range(1, len(values)):
        np.add(values[row], values[row - 1], out=values[row])
    return values
