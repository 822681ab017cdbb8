"""The user population: millions of people choosing an AI assistant, as numpy arrays.

Users are not Mesa agents: they are a structure of arrays, one entry per simulated user, each
standing for ``internet_users_m / n`` million real people. Per user: the assistant they
mainly use (``-1`` for none), their segment (social, shopping, entertainment, knowledge,
creator), the home apps they use (a bitmask), their inertia (from a switching cost) and
``degree`` friends in a synthetic social graph with communities. Users are numbered in the
order they adopt (their attributes are drawn independently of that order), so the adopters
are always the first ``n_adopters`` users.

Each month new users adopt (Bass diffusion down the adoption order), a share of adopters
reconsider, and every chooser picks by a logit over the assistants open to new users:

    U_ij = asc_j + b_q*quality_j + b_s*supply_j*need_i + b_d*reach_ij
           + b_soc*social_j*friends_ij + b_m*log(1 + marketing_j) + b_v*fit_j[segment_i]
           + Gumbel noise

A user's switching cost sets how rarely they reconsider (their *inertia*,
``exp(-b_switch * switch_i)`` normalised to mean 1) rather than entering the utility: a
penalty in the utility would make month 0 drift towards the largest assistants with nothing
in the market changing (docs/model.md, "Design changes"). ``asc_j`` (brand constants) are
fitted at month 0 so that the logit reproduces the roster's MAU shares and those shares are
a fixed point of the month's flows (``place_initial_users``). Every move is
counted in a from -> to migration matrix (the last row and column are "none"), and the
users per firm (and per firm and segment) are kept up to date from the moves, so readings
cost nothing however large the population.

No Python loop runs over users. The work of a month grows with the number of users who
choose, not with the population: reviewers are drawn by thinning a Bernoulli process walked
with geometric skips (docs/performance.md). ``sim/reference.py`` is the same submodel
written one Mesa agent per user; ``tests/test_reference.py`` checks that the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import Scenario
from sim.schema import SEGMENTS

NONE = -1
# Users whose utilities are worked on at once: bounds the temporaries to a few MB.
_CHUNK = 1 << 16
# Users whose friends are counted at once: the (firms, degree, users) matches fit in cache.
_BLOCK = 1 << 12
_FIT_ROUNDS = 200
_FIT_TOLERANCE = 1e-10


@dataclass
class MarketView:
    """What users see of the firms this month: one entry per firm, in roster order."""

    quality: np.ndarray
    supply: np.ndarray
    social: np.ndarray
    marketing_bn: np.ndarray
    fit: np.ndarray  # (firms, segments)
    home_mask: np.ndarray  # uint64 bitmask of home apps
    choosable: np.ndarray  # bool: open to new users
    stickiness: np.ndarray  # multiplier of the reconsider rate for the firm's users
    flight: np.ndarray  # share of the firm's users forced out this month


class UserPopulation:
    """Simulated users of China's AI assistants.

    Args:
        scenario: the resolved scenario (market, social and choice parameters, roster).
        n_users: number of simulated users.
        rng: the model's random generator.
    """

    def __init__(self, scenario: Scenario, n_users: int, rng: np.random.Generator) -> None:
        market, social = scenario.market, scenario.social
        self.choice = scenario.choice
        self.rng = rng
        self.n = n_users
        self.firm_ids = scenario.firm_ids
        self.n_firms = len(self.firm_ids)
        self.weight_m = market.internet_users_m / n_users
        seeds_mau = np.array([f.mau_m for f in scenario.firms.values()])
        self.multihoming = float(seeds_mau.sum() / market.adopters_m)
        self.target_shares = seeds_mau / seeds_mau.sum()

        seg_shares = np.array([market.segments[s] for s in SEGMENTS])
        self.segment = rng.choice(len(SEGMENTS), size=n_users, p=seg_shares).astype(np.int8)
        self.need = np.array([market.supply_need[s] for s in SEGMENTS])
        app_ids = list(scenario.apps)
        self.app_bit = {app: np.uint64(1) << np.uint64(i) for i, app in enumerate(app_ids)}
        self.apps = np.zeros(n_users, dtype=_smallest_unsigned(len(app_ids)))
        draw = np.empty(n_users, dtype=np.float32)
        for bit, app in enumerate(scenario.apps.values()):
            rng.random(out=draw, dtype=np.float32)
            uses = draw < min(1.0, app.mau_m / market.internet_users_m)
            self.apps |= uses.astype(self.apps.dtype) << bit
        switch_cost = rng.standard_exponential(n_users, dtype=np.float32)
        inertia = np.exp(-self.choice.b_switch * market.switching_cost_mean * switch_cost)
        self.inertia = (inertia / inertia.mean(dtype=np.float64)).astype(np.float32)
        self.inertia_max = float(self.inertia.max(initial=0.0))
        self.neighbors = social_graph(
            n_users, social.degree, social.community_size, social.within_community, rng
        )
        self.n_adopters = round(n_users * market.adopters_m / market.internet_users_m)
        self.assistant = np.full(n_users, NONE, dtype=np.int8 if self.n_firms < 127 else np.int16)
        self.asc = np.zeros(self.n_firms)
        self.migration = self._empty_migration()
        self._users = np.zeros(self.n_firms, dtype=np.int64)
        self._by_segment = np.zeros((self.n_firms, len(SEGMENTS)), dtype=np.int64)

    @property
    def adoption_order(self) -> np.ndarray:
        """Users in the order they adopt: the numbering itself."""
        return np.arange(self.n)

    # ------------------------------------------------------------------ set-up

    def home_mask(self, apps: list[str]) -> np.uint64:
        """Bitmask of a firm's home apps."""
        mask = np.uint64(0)
        for app in apps:
            mask |= self.app_bit[app]
        return mask

    def place_initial_users(
        self, view: MarketView, reconsider_rate: float, bass_p: float, bass_q: float
    ) -> None:
        """Give month 0 its assistants, then make month 0 a fixed point of the dynamics.

        First, brand constants are fitted so that fresh choices reproduce the roster's MAU
        shares (friends at their mean: the share of the population each firm holds); every
        adopter's assistant is drawn and the counts made exact. Then the constants are
        refitted so that, at month 0, each firm's expected inflow (reviewers weighted by how
        often each firm's users review, plus newcomers) equals its expected outflow plus its
        share of the market's growth: a sticky firm (high supply) keeps more users than it
        wins, so its flow share is below its stock share. Shares then move only when
        something in the market changes.

        Args:
            view: the firms at month 0.
            reconsider_rate: the market's monthly review rate before stickiness.
            bass_p, bass_q: Bass coefficients (the newcomers of month 1).
        """
        targets = _exact_counts(self.target_shares, self.n_adopters)
        expected_friends = (targets / self.n * self.neighbors.shape[1])[:, None]
        sample = self._sample()
        base = self._systematic(sample, view, expected_friends)
        self.asc = _fit_constants(base.T.astype(np.float64), self.target_shares)
        for start in range(0, self.n_adopters, _CHUNK):
            chunk = np.arange(start, min(start + _CHUNK, self.n_adopters))
            self.assistant[chunk] = self._draw(self._systematic(chunk, view, expected_friends))
        self._repair_counts(targets)
        self._recount()

        remaining = self.n - self.n_adopters
        growth = (bass_p + bass_q * self.n_adopters / self.n) * remaining / self.n_adopters
        current = self.assistant[sample]
        review = reconsider_rate * view.stickiness[current] * self.inertia[sample]
        weights = np.maximum(review, view.flight[current]) + growth
        leaving = np.bincount(current, weights=weights, minlength=self.n_firms)
        # the utilities include the first constants: fit the correction on top of them
        self.asc = self.asc + _fit_constants(
            self._systematic(sample, view, self._friend_counts(sample)).T.astype(np.float64),
            leaving / leaving.sum(),
            weights,
        )
        self.migration = self._empty_migration()

    def _sample(self) -> np.ndarray:
        size = min(self.choice.calibration_sample, self.n_adopters)
        return np.sort(self.rng.choice(self.n_adopters, size=size, replace=False))

    def _repair_counts(self, targets: np.ndarray) -> None:
        """Move randomly chosen surplus users so that each firm holds exactly its target."""
        held = self.assistant[: self.n_adopters]
        counts = np.bincount(held, minlength=self.n_firms)
        surplus = [
            self.rng.choice(np.flatnonzero(held == j), size=counts[j] - targets[j], replace=False)
            for j in np.flatnonzero(counts > targets)
        ]
        if not surplus:
            return
        movers = self.rng.permutation(np.concatenate(surplus))
        deficits = np.clip(targets - counts, 0, None)
        held[movers] = np.repeat(np.arange(self.n_firms), deficits)

    # ------------------------------------------------------------------ monthly

    def new_adopters(self, bass_p: float, bass_q: float) -> np.ndarray:
        """Users who adopt an assistant this month (Bass diffusion down the adoption order)."""
        remaining = self.n - self.n_adopters
        expected = (bass_p + bass_q * self.n_adopters / self.n) * remaining
        count = int(expected) + int(self.rng.random() < expected - int(expected))
        count = min(count, remaining)
        fresh = np.arange(self.n_adopters, self.n_adopters + count)
        self.n_adopters += count
        return fresh

    def move(self, view: MarketView, reconsider_rate: float, bass_p: float, bass_q: float) -> None:
        """One month of user movement: adoption, reconsideration, flight from collapsing
        firms; each chooser picks by the logit. Counts go into the migration matrix.

        Args:
            view: the firms as users see them this month.
            reconsider_rate: share of adopters reviewing their choice this month, before
                each firm's stickiness.
            bass_p, bass_q: Bass diffusion coefficients (per month).
        """
        reconsider = self.reviewers(view, reconsider_rate)
        fresh = self.new_adopters(bass_p, bass_q)
        self.choose(np.concatenate([reconsider, fresh]), view)

    def reviewers(self, view: MarketView, reconsider_rate: float) -> np.ndarray:
        """Adopters who review their choice this month: each independently, with probability
        ``max(reconsider_rate * stickiness[current] * inertia_i, flight[current])``.

        Drawn by thinning: candidates are the successes of a Bernoulli process at a bound
        ``top`` on every adopter's probability (walked by geometric skips), and each is kept
        with its own probability over ``top``. The work grows with the reviewers, not with
        the adopters."""
        # Per firm (a last column for none: an adopter left without an assistant because
        # nothing was open reviews at the base rate): review rate before inertia, flight.
        rates = np.zeros((2, self.n_firms + 1))
        rates[0, :-1] = reconsider_rate * view.stickiness
        rates[0, -1] = reconsider_rate
        rates[1, :-1] = view.flight
        top = min(1.0, max(rates[0].max() * self.inertia_max, rates[1].max()))
        if top <= 0.0:
            return np.empty(0, dtype=np.int64)
        candidates = _bernoulli_positions(self.n_adopters, top, self.rng)
        # indices are valid by construction: "clip" and "wrap" skip numpy's bounds checks,
        # and "wrap" sends none (-1) to the last column
        current = np.take(self.assistant, candidates, mode="clip")
        review, flight = np.take(rates, current, axis=1, mode="wrap")
        prob = np.maximum(review * np.take(self.inertia, candidates, mode="clip"), flight)
        return candidates[self.rng.random(len(candidates)) * top < prob]

    def choose(self, who: np.ndarray, view: MarketView) -> None:
        """Each user in `who` picks an assistant by the logit; moves are recorded. All
        choose at once: everyone sees their friends' assistants as they were before."""
        if len(who) == 0 or not view.choosable.any():
            return
        chosen = np.empty(len(who), dtype=self.assistant.dtype)
        for start in range(0, len(who), _CHUNK):
            chunk = who[start : start + _CHUNK]
            utility = self._systematic(chunk, view, self._friend_counts(chunk))
            chosen[start : start + _CHUNK] = self._draw(utility, view.choosable)
        self._assign(who, chosen)

    def transfer(self, source: int, target: int, fraction: float) -> None:
        """Hand `fraction` of one firm's users to another (an acquisition)."""
        members = self.members(source)
        moving = members[self.rng.random(len(members)) < fraction]
        self._assign(moving, np.full(len(moving), target, dtype=self.assistant.dtype))

    def evacuate(self, source: int, view: MarketView) -> None:
        """Every remaining user of a firm that left the market chooses another assistant."""
        self.choose(self.members(source), view)

    # ------------------------------------------------------------------ readings

    def members(self, firm: int) -> np.ndarray:
        """The users whose main assistant is `firm` (only adopters hold one)."""
        return np.flatnonzero(self.assistant[: self.n_adopters] == firm)

    def counts(self) -> np.ndarray:
        """Simulated users per firm."""
        return self._users.copy()

    def users_m(self) -> np.ndarray:
        """Real users (millions) whose main assistant is each firm."""
        return self._users * self.weight_m

    def supply_need(self) -> np.ndarray:
        """Each firm's users' mean need for supply (0-1), by their segments."""
        totals = self._by_segment.sum(axis=1)
        return np.divide(
            self._by_segment @ self.need, totals, out=np.zeros(self.n_firms), where=totals > 0
        )

    def take_migration(self) -> np.ndarray:
        """This month's from -> to counts of simulated users (last index: none); resets."""
        matrix, self.migration = self.migration, self._empty_migration()
        return matrix

    # ------------------------------------------------------------------ internals

    def _friend_counts(self, who: np.ndarray) -> np.ndarray:
        """Friends on each firm, firms x users in `who` (the layout of the utilities)."""
        degree = self.neighbors.shape[1]
        # friends' assistants, one row per tie: (degree, users), contiguous along users
        ties = np.take(self.neighbors, who, axis=0, mode="clip").T
        held = np.take(self.assistant, ties, mode="clip")
        firms = np.arange(self.n_firms, dtype=held.dtype)[:, None, None]
        counts = np.empty((self.n_firms, len(who)), dtype=np.uint8 if degree < 256 else np.int32)
        # (firms, degree, users) matches, a block of users at a time to stay in cache
        for start in range(0, len(who), _BLOCK):
            block = slice(start, start + _BLOCK)
            np.add.reduce(held[None, :, block] == firms, axis=1, out=counts[:, block])
        return counts

    def _systematic(
        self, who: np.ndarray, view: MarketView, friend_counts: np.ndarray
    ) -> np.ndarray:
        """Utility without noise, firms x users in `who` (float32), given each user's
        friends on each firm (counts, or their expectation). Firms run down the rows so
        that every operation across firms is one pass over contiguous users."""
        p = self.choice
        per_firm = (
            self.asc + p.b_quality * view.quality + p.b_marketing * np.log1p(view.marketing_bn)
        )
        by_segment = (
            per_firm[:, None]
            + p.b_supply * view.supply[:, None] * self.need[None, :]
            + p.b_match * view.fit
        ).astype(np.float32)
        segment = np.take(self.segment, who, mode="clip")
        utility = np.take(by_segment, segment, axis=1, mode="clip")
        reach = (
            view.home_mask.astype(self.apps.dtype)[:, None]
            & np.take(self.apps, who, mode="clip")[None, :]
        ) != 0
        utility += reach * np.float32(p.b_reach)
        per_friend = (p.b_social * view.social / self.neighbors.shape[1]).astype(np.float32)
        utility += per_friend[:, None] * friend_counts
        return utility

    def _draw(self, utility: np.ndarray, allowed: np.ndarray | None = None) -> np.ndarray:
        """One logit draw per column of `utility` (firms x users, overwritten): the inverse
        of the cumulative choice probabilities at one uniform, the same law as the argmax
        of utility plus Gumbel noise at a sixteenth of the random numbers."""
        if allowed is not None and not allowed.all():
            utility[~allowed] = -np.inf
        utility -= utility.max(axis=0)
        np.exp(utility, out=utility)
        for firm in range(1, self.n_firms):
            utility[firm] += utility[firm - 1]
        threshold = self.rng.random(utility.shape[1], dtype=np.float32) * utility[-1]
        chosen = np.add.reduce(utility < threshold, axis=0, dtype=self.assistant.dtype)
        # Rounding can put a threshold at the very top: that is the last open firm.
        last = self.n_firms - 1 if allowed is None else int(np.flatnonzero(allowed)[-1])
        return np.minimum(chosen, last, out=chosen)

    def _assign(self, who: np.ndarray, chosen: np.ndarray) -> None:
        """Users in `who` take the assistants `chosen`: the migration matrix and the users
        per firm and segment follow the moves."""
        current = np.take(self.assistant, who, mode="clip")
        moved = current != chosen
        if not moved.any():
            return
        movers, target = who[moved], chosen[moved]
        size, segments = self.n_firms + 1, len(SEGMENTS)
        # origin "none" (-1) wraps to the last row
        origin = np.mod(current[moved], size, dtype=np.intp)
        cell = (origin * size + target) * segments + np.take(self.segment, movers, mode="clip")
        moves = np.bincount(cell, minlength=size * size * segments).reshape(size, size, segments)
        gained = moves[:, :-1].sum(axis=0) - moves[:-1].sum(axis=1)  # (firms, segments)
        self._by_segment += gained
        self._users += gained.sum(axis=1)
        self.migration += moves.sum(axis=2)
        self.assistant[movers] = target

    def _recount(self) -> None:
        held = self.assistant[: self.n_adopters].astype(np.int64)
        on = held >= 0
        segments = len(SEGMENTS)
        self._users = np.bincount(held[on], minlength=self.n_firms)
        self._by_segment = np.bincount(
            held[on] * segments + self.segment[: self.n_adopters][on],
            minlength=self.n_firms * segments,
        ).reshape(self.n_firms, segments)

    def _empty_migration(self) -> np.ndarray:
        return np.zeros((self.n_firms + 1, self.n_firms + 1), dtype=np.int64)


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
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
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


def _bernoulli_positions(length: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Indices in ``[0, length)`` each present independently with probability `p`: the
    successes of a Bernoulli process, found by geometric skips (work ~ length * p)."""
    if length == 0:
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


def _smallest_unsigned(bits: int) -> type[np.unsignedinteger]:
    """The narrowest unsigned integer type holding a bitmask of `bits` bits."""
    for dtype in (np.uint8, np.uint16, np.uint32, np.uint64):
        if bits <= np.iinfo(dtype).bits:
            return dtype
    raise ValueError(f"at most 64 home apps, got {bits}")


def _exact_counts(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `shares` (largest remainder)."""
    raw = shares * total
    counts = np.floor(raw).astype(np.int64)
    short = total - counts.sum()
    counts[np.argsort(raw - counts)[::-1][:short]] += 1
    return counts


def _fit_constants(
    utility: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Alternative-specific constants that make the (weighted) mean logit probabilities
    over the rows of `utility` equal `target` (fixed-point iteration on log shares, to
    convergence)."""
    asc = np.zeros(utility.shape[1])
    weights = np.full(len(utility), 1.0 / len(utility)) if weights is None else weights
    weights = weights / weights.sum()
    present = target > 0
    asc[~present] = -50.0
    for _ in range(_FIT_ROUNDS):
        logits = utility + asc
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        step = np.log(target[present] / np.maximum((weights @ prob)[present], 1e-12))
        asc[present] += step
        if np.abs(step).max() < _FIT_TOLERANCE:
            break
    return asc
