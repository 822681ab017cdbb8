"""The synthetic friendship graph and the draws that keep a month's work in proportion to
the users who choose: Bernoulli processes walked by geometric skips drawn by inversion."""

from __future__ import annotations

import numpy as np

# Users worked on at once: bounds the temporaries to a few MB.
CHUNK = 1 << 16


def social_graph(
    n: int, degree: int, community_size: int, within: float, rng: np.random.Generator
) -> np.ndarray:
    """A sparse directed friendship graph with community structure, as an (n, degree)
    array of friend indices: each tie falls inside the user's community with probability
    `within`, else anywhere.

    Communities are consecutive blocks of a random ordering of the users. Ties are drawn
    community by community, so that looking up fellow members stays within a small stretch
    of memory, and each tie costs one 64-bit random number: 16 bits decide inside or not,
    48 bits pick the friend."""
    member_at = np.arange(n, dtype=np.int32)
    rng.shuffle(member_at)
    inside_below = np.uint64(round(within * (1 << 16)))
    neighbors = np.empty((n, degree), dtype=np.int32)
    # One element per user holding their whole row of ties: rows are written in one go.
    rows = neighbors.view(np.dtype((np.void, neighbors.itemsize * degree))).reshape(n)
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        bits = rng.bit_generator.random_raw((stop - start, degree))
        inside = (bits & np.uint64(0xFFFF)) < inside_below
        uniform = (bits >> np.uint64(16)).astype(np.float64) * 2.0**-48
        block = np.arange(start, stop, dtype=np.int32)[:, None] // community_size * community_size
        size = np.minimum(community_size, n - block)
        local = np.take(member_at, block + (uniform * size).astype(np.int32))
        anywhere = (uniform * n).astype(np.int32)
        ties = np.where(inside, local, anywhere)
        rows[member_at[start:stop]] = ties.view(rows.dtype).reshape(-1)
    return neighbors


def bernoulli_positions(length: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Indices in ``[0, length)`` each present independently with probability `p`: the
    successes of a Bernoulli process, found by geometric skips (work ~ length * p)."""
    if length == 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    if p >= 1.0:
        return np.arange(length)
    expected = length * p
    if expected < 16:
        # A handful: count them and place them (skips would overflow as p -> 0).
        count = rng.binomial(length, p)
        return np.sort(rng.choice(length, size=count, replace=False))
    positions = np.cumsum(_geometric(p, int(expected + 6 * expected**0.5 + 16), rng)) - 1
    while positions[-1] < length - 1:
        more = np.cumsum(_geometric(p, int(expected * 0.1) + 16, rng)) + positions[-1]
        positions = np.concatenate([positions, more])
    return positions[: np.searchsorted(positions, length)]


def _geometric(p: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Trials up to and including the first success, success probability `p` (0 < p < 1),
    by inversion: quicker than ``rng.geometric`` for the sizes met here."""
    return (np.log(1.0 - rng.random(size)) * (1.0 / np.log1p(-p))).astype(np.int64) + 1


def bit_counts(masks: np.ndarray, n_bits: int) -> np.ndarray:
    """How many of the uint32 `masks` have each of the first `n_bits` bits set."""
    bits = np.unpackbits(masks.view(np.uint8).reshape(-1, 4), axis=1, bitorder="little")
    return bits[:, :n_bits].sum(axis=0, dtype=np.int64)


def smallest_unsigned(bits: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned integer type holding a bitmask of `bits` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"at most 64 home apps, got {bits}")
