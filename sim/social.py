"""The synthetic friendship graph, friends' uses counted in packed counters, and the draws
that keep a month's work in proportion to the users who choose: Bernoulli processes walked
by geometric skips drawn by inversion."""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from sim.schema import SEGMENTS

# Users worked on at once in the set-up: bounds the temporaries to a few MB.
CHUNK = 1 << 16
# Users whose ties are drawn at once: the graph's temporaries (384 kB of 64-bit draws)
# stay in the processor's cache between passes (the draws are read in the same order).
GRAPH_CHUNK = 1 << 12
# The widest counter of friends: one byte (schema: degree <= 200).
_COUNTER_BITS = (4, 8)
# The bits of 2.0**52: OR-ed onto an integer below 2**52, they make the float 2**52 + it.
_TWO_52_BITS = np.float64(2.0**52).view(np.uint64)
# Bit generators whose 32-bit words are the low then the high half of a 64-bit draw, one
# half held over in the state's ``has_uint32`` and ``uinteger`` (numpy's PCG64 code).
_HALVED_GENERATORS = ("PCG64", "PCG64DXSM")


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
    for start in range(0, n, GRAPH_CHUNK):
        stop = min(n, start + GRAPH_CHUNK)
        bits = rng.bit_generator.random_raw((stop - start, degree))
        inside = (bits & np.uint64(0xFFFF)) < inside_below
        # the friend's place: the top 48 bits k as a float, k * 2^-48 * size (exact as
        # k * (size * 2^-48), and k made a float by the exponent trick, exact below 2^52)
        bits >>= np.uint64(16)
        bits |= _TWO_52_BITS
        uniform = bits.view(np.float64)
        uniform -= 2.0**52
        block = np.arange(start, stop, dtype=np.int32)[:, None] // community_size * community_size
        size = np.minimum(community_size, n - block) * 2.0**-48
        local = np.take(member_at, block + (uniform * size).astype(np.int32))
        uniform *= n * 2.0**-48
        ties = uniform.astype(np.int32)
        # where(inside, local, ties), as integer arithmetic
        local -= ties
        local *= inside
        ties += local
        rows[member_at[start:stop]] = ties.view(rows.dtype).reshape(-1)
    return neighbors


@cache
def _spread_table(width: int) -> np.ndarray:
    """For every value of ``64 // width`` bits, those bits spread one to a counter of
    `width` bits in a 64-bit word (so that adding words adds the counters)."""
    group = 64 // width
    values = np.arange(1 << group, dtype=np.uint64)
    table = np.zeros(1 << group, dtype=np.uint64)
    for bit in range(group):
        table |= ((values >> np.uint64(bit)) & np.uint64(1)) << np.uint64(width * bit)
    table.flags.writeable = False
    return table


def friend_counts(masks: np.ndarray, ties: np.ndarray, n_bits: int, out: np.ndarray) -> None:
    """For each row of `ties` (friend indices, users x degree), how many of those friends
    have each of the first `n_bits` bits set in `masks`; written to `out` (bits x users).

    Each friend's mask is spread, by a lookup table, to one small counter per bit packed
    in 64-bit words (16 counters of 4 bits while the degree is below 16, else 8 of one
    byte), and the words of a user's friends are added: one addition counts 8 or 16 bits
    at once, and no counter can overflow because it never exceeds the degree."""
    degree = ties.shape[1]
    width = next(bits for bits in _COUNTER_BITS if degree < 1 << bits)
    group = 64 // width
    table = _spread_table(width)
    # degree x users, each friend's row contiguous: gathered in the ties' own order (the
    # reads of a user's friends together), then laid out by rank of friend
    friends = np.ascontiguousarray(np.take(masks, ties).T)
    for first in range(0, n_bits, group):
        part = friends
        if first or n_bits > group:
            part = (friends >> np.uint32(first)) & np.uint32((1 << group) - 1)
        total = np.add.reduce(np.take(table, part), axis=0)
        counters = total.astype("<u8", copy=False).view(np.uint8).reshape(len(total), 8)
        counters = np.ascontiguousarray(counters.T)  # byte k of every user's word in a row
        bits = min(group, n_bits - first)
        if width == 8:
            out[first : first + bits] = counters[:bits]
        else:
            even, odd = out[first : first + bits : 2], out[first + 1 : first + bits : 2]
            np.bitwise_and(counters[: len(even)], 15, out=even, casting="unsafe")
            np.right_shift(counters[: len(odd)], 4, out=odd, casting="unsafe")


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


def thinning_candidates(
    length: int, top: float, always: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | np.float32]:
    """Candidates for independent trials on ``[0, length)``, each with a probability at
    most `top` except those in `always` (sorted), whose probability may be anything: the
    successes of a Bernoulli process at `top` and every index in `always`, with the
    bound each was drawn at (`top`, or 1 for those in `always`). Keeping each candidate
    with its own probability over its bound draws every trial exactly."""
    candidates = bernoulli_positions(length, top, rng)
    if len(always) == 0:
        return candidates, np.float32(top)
    place = np.minimum(np.searchsorted(always, candidates), len(always) - 1)
    ordinary = candidates[always[place] != candidates]
    bound = np.repeat(np.array([top, 1.0], dtype=np.float32), [len(ordinary), len(always)])
    return np.concatenate([ordinary, always]), bound


def fast_reviewers(
    main: np.ndarray, paid: np.ndarray, trial_users: np.ndarray, rates: np.ndarray, top: float
) -> np.ndarray:
    """Users (sorted) whose review rate may exceed `top`: the users of `main` (their main
    firms, -1 for none) whose main firm's flight rate (``rates[2]``, by main firm, none
    last) is above it, and those of `trial_users` (sorted) whose main use was `paid` for
    by a campaign of a firm whose trial rate (``rates[1]``) is."""
    found = []
    flight = rates[2] > top
    if flight.any():
        found.append(np.flatnonzero(flight[main]))
    if len(trial_users) and (rates[1] > top).any():
        current = main[trial_users]
        bit = np.left_shift(np.uint32(1), np.maximum(current, 0).astype(np.uint32))
        own = ((paid[trial_users] & bit) != 0) & (current >= 0)
        found.append(trial_users[own & (rates[1][current] > top)])
    if not found:
        return np.empty(0, dtype=np.int64)
    return np.union1d(*found) if len(found) > 1 else found[0]


def _geometric(p: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """Trials up to and including the first success, success probability `p` (0 < p < 1),
    by inversion: quicker than ``rng.geometric`` for the sizes met here."""
    return (np.log(1.0 - rng.random(size)) * (1.0 / np.log1p(-p))).astype(np.int64) + 1


def uniform_words(rng: np.random.Generator, n: int) -> np.ndarray:
    """The 24-bit integers ``k`` (uint32) of the next `n` float32 uniforms of `rng`
    (``rng.random(n, dtype=np.float32)`` is ``k * 2^-24``), the generator left as that
    call leaves it. numpy makes each float32 uniform from the top 24 bits of a 32-bit
    word, the low then the high half of each 64-bit draw (one half may be held over
    between calls); a PCG64 generator's halves are read here from its raw draws in one
    go, several times quicker than numpy's float32 loop. Other generators take that loop."""
    bit_generator = rng.bit_generator
    if n <= 0 or type(bit_generator).__name__ not in _HALVED_GENERATORS:
        return (rng.random(max(n, 0), dtype=np.float32) * np.float32(2.0**24)).astype(np.uint32)
    words = np.empty(n, dtype=np.uint32)
    state = bit_generator.state
    held = int(state["has_uint32"])
    if held:
        words[0] = state["uinteger"]
    needed = n - held
    raw = bit_generator.random_raw((needed + 1) // 2).view("<u4")
    words[held:] = raw[:needed]
    if held or needed % 2:
        state = bit_generator.state
        state["has_uint32"] = needed % 2
        state["uinteger"] = int(raw[-1]) if needed % 2 else 0
        bit_generator.state = state
    words >>= np.uint32(8)
    return words


def below_float32(words: np.ndarray, p: float, out: np.ndarray | None = None) -> np.ndarray:
    """``words * 2^-24 < p`` with `p` rounded to float32, as numpy compares a float32
    uniform with a Python float, by one integer comparison: `words` are 24-bit integers
    (uniform_words), and ``k * 2^-24 < p32`` if and only if ``k < ceil(p32 * 2^24)``."""
    bound = math.ceil(float(np.float32(p)) * 2.0**24)
    if bound > np.iinfo(np.uint32).max:
        bound = np.iinfo(np.uint32).max
    return np.less(words, np.uint32(max(bound, 0)), out=out)


def bitmasks(rng: np.random.Generator, shares: list[float], n: int) -> np.ndarray:
    """`n` bitmasks (the narrowest unsigned type), bit k set where a float32 uniform falls
    below ``shares[k]``: ``rng.random(n, dtype=np.float32) < shares[k]`` for each k in
    turn, the same draws read as integers (uniform_words, below_float32)."""
    masks = np.zeros(n, dtype=smallest_unsigned(len(shares)))
    below = np.empty(n, dtype=bool)
    shifted = np.empty(n, dtype=masks.dtype)
    for bit, share in enumerate(shares):
        below_float32(uniform_words(rng, n), share, out=below)
        np.left_shift(below, masks.dtype.type(bit), out=shifted, dtype=masks.dtype)
        masks |= shifted
    return masks


def categories(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``rng.choice(len(p), size=n, p=p)`` as int8 (at most 127 categories), the same
    draws: numpy takes one float64 uniform per draw and finds it in the normalised
    cumulative probabilities (``searchsorted(side="right")``: the number of them at or
    below it), counted here by one comparison per category instead of a search."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    uniform = rng.random(n)
    drawn = np.zeros(n, dtype=np.int8)
    for edge in cdf[:-1]:
        drawn += uniform >= edge
    return drawn


def review_rates(
    reconsider: float, stickiness: np.ndarray, trial: np.ndarray, flight: np.ndarray
) -> np.ndarray:
    """Review rates by main firm (none last): the ordinary rate ``r * stick``, the trial
    users' rate and the flight rate (rows 0, 1, 2)."""
    rates = np.zeros((3, len(stickiness) + 1))
    rates[0, :-1] = reconsider * stickiness
    rates[0, -1] = reconsider
    rates[1, :-1] = trial
    rates[2, :-1] = flight
    return rates


def count_moves(origin: np.ndarray, target: np.ndarray, segment: np.ndarray, n_firms: int):
    """Moves from -> to by segment (firms + 1 x firms + 1 x segments, none last) of users
    whose main firms went from `origin` to `target` (-1 for none)."""
    size, segments = n_firms + 1, len(SEGMENTS)
    cell = np.mod(origin, size, dtype=np.intp) * size + np.mod(target, size, dtype=np.intp)
    cell = cell * segments + segment
    moves = np.bincount(cell, minlength=size * size * segments)
    return moves.reshape(size, size, segments)


def bit_counts(masks: np.ndarray, n_bits: int) -> np.ndarray:
    """How many of the `masks` have each of the first `n_bits` bits set."""
    one = masks.dtype.type(1)
    return np.array(
        [np.count_nonzero(masks & (one << masks.dtype.type(bit))) for bit in range(n_bits)],
        dtype=np.int64,
    )


def smallest_unsigned(bits: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned integer type holding a bitmask of `bits` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"at most 64 home apps, got {bits}")
