"""The user population: millions of people choosing an AI assistant, as numpy arrays.

Users are not Mesa agents: they are a structure of arrays, one entry per simulated user, each
standing for ``internet_users_m / n`` million real people. Per user: the assistant they
mainly use (``-1`` for none), their segment (social, shopping, entertainment, knowledge,
creator), the home apps they use (a bitmask), their inertia (from a switching cost), their
place in the adoption order, and ``degree`` friends in a synthetic social graph with communities.

Each month new users adopt (Bass diffusion down the adoption order), a share of adopters
reconsider, and every chooser picks by a logit over the assistants open to new users:

    U_ij = asc_j + b_q*quality_j + b_s*supply_j*need_i + b_d*reach_ij
           + b_soc*social_j*friends_ij + b_m*log(1 + marketing_j) + b_v*fit_j[segment_i]
           + Gumbel noise

A user's switching cost sets how rarely they reconsider (their *inertia*,
``exp(-b_switch * switch_i)`` normalised to mean 1) rather than entering the utility: a
penalty in the utility would make month 0 drift towards the largest assistants with nothing
in the market changing (docs/model.md, "Design changes"). ``asc_j`` (brand constants) are
fitted at month 0 so that the logit reproduces the roster's MAU shares. Every move is
counted in a from -> to migration matrix (the last row and column are "none").
No Python loop runs over users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario import SEGMENTS, Scenario

NONE = -1
_CHUNK = 1_000_000
_FIT_ROUNDS = 60


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
        self.need = np.array([market.supply_need[s] for s in SEGMENTS], dtype=np.float32)
        app_ids = list(scenario.apps)
        self.app_bit = {app: np.uint64(1) << np.uint64(i) for i, app in enumerate(app_ids)}
        self.apps = np.zeros(n_users, dtype=np.uint64)
        for app_id, app in scenario.apps.items():
            uses = rng.random(n_users, dtype=np.float32) < min(
                1.0, app.mau_m / market.internet_users_m
            )
            self.apps[uses] |= self.app_bit[app_id]
        switch_cost = rng.exponential(market.switching_cost_mean, n_users)
        inertia = np.exp(-self.choice.b_switch * switch_cost)
        self.inertia = (inertia / inertia.mean()).astype(np.float32)
        self.neighbors = social_graph(
            n_users, social.degree, social.community_size, social.within_community, rng
        )
        self.adoption_order = rng.permutation(n_users).astype(np.int32)
        self.n_adopters = int(round(n_users * market.adopters_m / market.internet_users_m))
        self.assistant = np.full(n_users, NONE, dtype=np.int16)
        self.asc = np.zeros(self.n_firms)
        self.migration = self._empty_migration()

    # ------------------------------------------------------------------ set-up

    def home_mask(self, apps: list[str]) -> np.uint64:
        """Bitmask of a firm's home apps."""
        mask = np.uint64(0)
        for app in apps:
            mask |= self.app_bit[app]
        return mask

    def place_initial_users(self, view: MarketView) -> None:
        """Give month 0 its assistants: fit brand constants so that choices reproduce the
        roster's MAU shares, draw every adopter's assistant and make the counts exact.

        Since every chooser (new or reconsidering) draws from the same logit, the month-0
        shares are then a fixed point of the monthly dynamics in expectation: shares move
        only when something in the market changes."""
        adopters = self.adoption_order[: self.n_adopters]
        targets = _exact_counts(self.target_shares, self.n_adopters)
        sample = self._sample(adopters)
        mean_field = np.broadcast_to(
            (targets / self.n)[None, :], (len(sample), self.n_firms)
        ).astype(np.float32)
        base = self._systematic(sample, view, mean_field)
        self.asc = _fit_constants(base, np.ones(len(sample)), self.target_shares)
        for chunk in np.array_split(adopters, max(1, len(adopters) // _CHUNK)):
            field = np.broadcast_to(
                (targets / self.n)[None, :], (len(chunk), self.n_firms)
            ).astype(np.float32)
            utility = self._systematic(chunk, view, field) + self._gumbel(len(chunk))
            self.assistant[chunk] = np.argmax(utility, axis=1)
        self._repair_counts(adopters, targets)
        self.migration = self._empty_migration()

    def _sample(self, adopters: np.ndarray) -> np.ndarray:
        size = min(self.choice.calibration_sample, len(adopters))
        return np.sort(self.rng.choice(adopters, size=size, replace=False))

    def _repair_counts(self, adopters: np.ndarray, targets: np.ndarray) -> None:
        """Move randomly chosen surplus users so that each firm holds exactly its target."""
        counts = np.bincount(self.assistant[adopters], minlength=self.n_firms)
        surplus = []
        for j in np.flatnonzero(counts > targets):
            members = adopters[self.assistant[adopters] == j]
            surplus.append(self.rng.choice(members, size=counts[j] - targets[j], replace=False))
        if not surplus:
            return
        movers = self.rng.permutation(np.concatenate(surplus))
        deficits = np.clip(targets - counts, 0, None)
        self.assistant[movers] = np.repeat(np.arange(self.n_firms), deficits).astype(np.int16)

    # ------------------------------------------------------------------ monthly

    def new_adopters(self, bass_p: float, bass_q: float) -> np.ndarray:
        """Users who adopt an assistant this month (Bass diffusion down the adoption order)."""
        remaining = self.n - self.n_adopters
        expected = (bass_p + bass_q * self.n_adopters / self.n) * remaining
        count = int(expected) + int(self.rng.random() < expected - int(expected))
        count = min(count, remaining)
        fresh = self.adoption_order[self.n_adopters : self.n_adopters + count]
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
        adopters = self.adoption_order[: self.n_adopters]
        current = self.assistant[adopters]
        review = reconsider_rate * view.stickiness[current] * self.inertia[adopters]
        prob = np.maximum(review, view.flight[current])
        reconsider = adopters[self.rng.random(len(adopters), dtype=np.float32) < prob]
        fresh = self.new_adopters(bass_p, bass_q)
        self.choose(np.concatenate([reconsider, fresh]), view)

    def choose(self, who: np.ndarray, view: MarketView) -> None:
        """Each user in `who` picks an assistant by the logit; moves are recorded."""
        if len(who) == 0 or not view.choosable.any():
            return
        for chunk in np.array_split(who, max(1, len(who) // _CHUNK)):
            current = self.assistant[chunk]
            utility = self._systematic(chunk, view, self.friends(chunk))
            utility += self._gumbel(len(chunk))
            utility[:, ~view.choosable] = -np.inf
            chosen = np.argmax(utility, axis=1).astype(np.int16)
            self._record(current, chosen)
            self.assistant[chunk] = chosen

    def transfer(self, source: int, target: int, fraction: float) -> None:
        """Hand `fraction` of one firm's users to another (an acquisition)."""
        members = np.flatnonzero(self.assistant == source)
        moving = members[self.rng.random(len(members)) < fraction]
        self._record(self.assistant[moving], np.full(len(moving), target, dtype=np.int16))
        self.assistant[moving] = target

    def evacuate(self, source: int, view: MarketView) -> None:
        """Every remaining user of a firm that left the market chooses another assistant."""
        self.choose(np.flatnonzero(self.assistant == source), view)

    # ------------------------------------------------------------------ readings

    def counts(self) -> np.ndarray:
        """Simulated users per firm."""
        on = self.assistant[self.assistant >= 0]
        return np.bincount(on, minlength=self.n_firms)

    def users_m(self) -> np.ndarray:
        """Real users (millions) whose main assistant is each firm."""
        return self.counts() * self.weight_m

    def supply_need(self) -> np.ndarray:
        """Each firm's users' mean need for supply (0-1), by their segments."""
        on = self.assistant >= 0
        by_segment = np.bincount(
            self.assistant[on].astype(np.int64) * len(SEGMENTS) + self.segment[on],
            minlength=self.n_firms * len(SEGMENTS),
        ).reshape(self.n_firms, len(SEGMENTS))
        totals = by_segment.sum(axis=1)
        return np.divide(by_segment @ self.need, totals, out=np.zeros(self.n_firms), where=totals > 0)

    def take_migration(self) -> np.ndarray:
        """This month's from -> to counts of simulated users (last index: none); resets."""
        matrix, self.migration = self.migration, self._empty_migration()
        return matrix

    # ------------------------------------------------------------------ internals

    def friends(self, who: np.ndarray) -> np.ndarray:
        """Share of each user's friends whose main assistant is each firm."""
        on = self.assistant[self.neighbors[who]]
        rows = np.broadcast_to(np.arange(len(who))[:, None], on.shape)
        valid = on >= 0
        counts = np.bincount(
            rows[valid].astype(np.int64) * self.n_firms + on[valid],
            minlength=len(who) * self.n_firms,
        )
        return (counts.reshape(len(who), self.n_firms) / self.neighbors.shape[1]).astype(np.float32)

    def _systematic(self, who: np.ndarray, view: MarketView, friends: np.ndarray) -> np.ndarray:
        p = self.choice
        seg = self.segment[who]
        per_firm = self.asc + p.b_quality * view.quality + p.b_marketing * np.log1p(view.marketing_bn)
        utility = np.empty((len(who), self.n_firms), dtype=np.float32)
        utility[:] = per_firm
        utility += p.b_supply * self.need[seg][:, None] * view.supply[None, :]
        utility += p.b_match * view.fit.T[seg]
        reach = (self.apps[who][:, None] & view.home_mask[None, :]) != 0
        utility += p.b_reach * reach
        utility += p.b_social * view.social[None, :] * friends
        return utility

    def _gumbel(self, rows: int) -> np.ndarray:
        uniform = self.rng.random((rows, self.n_firms), dtype=np.float32)
        return -np.log(-np.log(np.clip(uniform, 1e-12, 1.0 - 1e-7)))

    def _record(self, current: np.ndarray, chosen: np.ndarray) -> None:
        moved = current != chosen
        origin = np.where(current[moved] < 0, self.n_firms, current[moved]).astype(np.int64)
        flat = origin * (self.n_firms + 1) + chosen[moved]
        self.migration += np.bincount(flat, minlength=(self.n_firms + 1) ** 2).reshape(
            self.n_firms + 1, self.n_firms + 1
        )

    def _empty_migration(self) -> np.ndarray:
        return np.zeros((self.n_firms + 1, self.n_firms + 1), dtype=np.int64)


def social_graph(
    n: int, degree: int, community_size: int, within: float, rng: np.random.Generator
) -> np.ndarray:
    """A sparse directed friendship graph with community structure, as an (n, degree)
    array of friend indices: each tie falls inside the user's community with probability
    `within`, else anywhere."""
    position = rng.permutation(n).astype(np.int32)
    member_at = np.empty(n, dtype=np.int32)
    member_at[position] = np.arange(n, dtype=np.int32)
    neighbors = np.empty((n, degree), dtype=np.int32)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        rows = stop - start
        block = position[start:stop, None] // community_size * community_size
        size = np.minimum(community_size, n - block)
        local = block + (rng.random((rows, degree), dtype=np.float32) * size).astype(np.int32)
        anywhere = rng.integers(0, n, size=(rows, degree), dtype=np.int32)
        inside = rng.random((rows, degree), dtype=np.float32) < within
        neighbors[start:stop] = np.where(inside, member_at[np.minimum(local, n - 1)], anywhere)
    return neighbors


def _exact_counts(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to `total`, proportional to `shares` (largest remainder)."""
    raw = shares * total
    counts = np.floor(raw).astype(np.int64)
    short = total - counts.sum()
    counts[np.argsort(raw - counts)[::-1][:short]] += 1
    return counts


def _fit_constants(utility: np.ndarray, weights: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Alternative-specific constants that make the weighted mean logit probabilities
    equal `target` (fixed-point iteration on log shares)."""
    asc = np.zeros(utility.shape[1])
    weights = weights / weights.sum()
    present = target > 0
    for _ in range(_FIT_ROUNDS):
        logits = utility + asc
        logits -= logits.max(axis=1, keepdims=True)
        prob = np.exp(logits)
        prob /= prob.sum(axis=1, keepdims=True)
        predicted = weights @ prob
        asc[present] += np.log(target[present] / np.maximum(predicted[present], 1e-12))
        asc[~present] = -50.0
    return asc
