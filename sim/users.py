"""The user population: people who try, use, combine, drop and return to AI assistants.

Users are not Mesa agents: they are a structure of arrays, one entry per simulated user, each
standing for ``internet_users_m / n`` million real people. Per user: their segment, the home
apps they use (a bitmask), their inertia, ``degree`` friends in a synthetic social graph
with communities, the assistant that gets most of their use this month (``main``; ``-1``
for none, whether they never adopted or lapsed), a bitmask of every assistant they used this
month (``used``; one bit per firm, at most 32 firms: an assistant's MAU is the users with
its bit set, so a user who multi-homes counts in several MAUs) and a bitmask of the uses a
cash campaign brought (``paid``: trial users, who review sooner). Users are numbered in the
order they first adopt AI, so those who ever adopted are the first ``n_adopters``.

**Awareness** is a state per firm and segment, ``a_js`` in (0, 1): the share of the
segment's people who know the assistant well enough to consider it. Each month

    a_js <- a*_js + (a_js - a*_js) * exp(-(I_js + delta_j)),   a*_js = I_js / (I_js + delta_j)
    I_js = e0 + rho_reach*reach_js + rho_wom*share_js + rho_m*attention_j
           + rho_news*buzz_j + rho_cash*cash_j

grows with the firm's home apps (``reach_js``: the segment's share of people using one),
word of mouth (``share_js``: the share of the segment's adopters whose main assistant it is,
so that it holds as adoption spreads at constant shares), its marketing stock, its news
and its cash campaigns, and decays at the firm's forgetting rate ``delta_j``.

**Choice.** Adopters review their month at ``r_t * stick_main * inertia_i`` (``r_t`` rises
with news and campaigns), trial users at their campaign's ``trial_review_rate``, users of a
collapsing firm at the flight rate; new adopters (Bass diffusion, faster with news) review
too. A reviewer draws a main assistant by an awareness-weighted logit (Goeree 2008) over the
open assistants and the outside option (choosing it is a lapse to "none"),

    P(main = j) = a_js e^{V_ij} / (e^{u0} + sum_k a_ks e^{V_ik})
    V_ij = b_q*quality_j + b_s*supply_j*need_i + b_r*reach_ij + b_soc*social_j*friends_ij
           + b_m*attention_j + b_v*fit_j[segment_i]

then uses each other open assistant as a secondary with probability
``sigmoid(V_ik + ln a_ks - s0)``. There is no brand constant: month 0 is fitted through
awareness. Each firm's forgetting rate ``delta_j`` (how memorable it is) is fitted so that
the awareness it sustains, with every channel in place, gives the roster's MAU at the
stationary state of the month's flows; ``u0`` and ``s0`` are fitted to the share of adopters
using no assistant and to the sum of MAU over adopters (``fit_month0``). Cut a channel and
the awareness it fed decays, and the users its utility held review away.

Every change of main assistant is counted in a from -> to migration matrix whose last row
and column are "none" (new adopters, lapses and returns). Counts per firm (main users, MAU,
main users by segment) are kept up to date from the moves. No Python loop runs over users:
the work of a month grows with the users who review, found by thinning a Bernoulli process
walked with geometric skips (docs/performance.md). ``sim/reference.py`` is the same
submodel written one Mesa agent per user; ``tests/test_reference.py`` checks that the two
agree.
"""

from __future__ import annotations

import numpy as np

from sim.awareness import (
    FitState,
    Month0Fit,
    advance,
    fit_levers,
    friends_utility,
    inflow,
    reach_shares,
)
from sim.choice import BLOCK, NONE, draw_months
from sim.scenario import Scenario
from sim.schema import MAX_FIRMS, SEGMENTS
from sim.social import (
    CHUNK,
    bit_counts,
    bitmasks,
    categories,
    count_moves,
    fast_reviewers,
    friend_counts,
    review_rates,
    smallest_unsigned,
    social_graph,
    thinning_candidates,
)
from sim.view import MarketView, kinds, systematic, utility_table


class UserPopulation:
    """Simulated users of China's AI assistants.

    Args:
        scenario: the resolved scenario (market, social, choice and awareness parameters,
            roster).
        n_users: number of simulated users.
        rng: the model's random generator.
    """

    def __init__(self, scenario: Scenario, n_users: int, rng: np.random.Generator) -> None:
        market, social = scenario.market, scenario.social
        self.choice = scenario.choice
        self.awareness = scenario.awareness
        self.rng = rng
        self.n = n_users
        self.firm_ids = scenario.firm_ids
        self.n_firms = len(self.firm_ids)
        if self.n_firms > MAX_FIRMS:
            raise ValueError(f"at most {MAX_FIRMS} firms, got {self.n_firms}")
        self.weight_m = market.internet_users_m / n_users
        self.mau_target_m = np.array([f.mau_m for f in scenario.firms.values()])
        self.bits = np.left_shift(np.uint32(1), np.arange(self.n_firms, dtype=np.uint32))

        seg_shares = np.array([market.segments[s] for s in SEGMENTS])
        self.segment = categories(rng, seg_shares, n_users)  # rng.choice's draws
        self.need = np.array([market.supply_need[s] for s in SEGMENTS])
        app_ids = list(scenario.apps)
        self.app_bit = {app: np.uint64(1) << np.uint64(i) for i, app in enumerate(app_ids)}
        shares = [min(1.0, app.mau_m / market.internet_users_m) for app in scenario.apps.values()]
        self.apps = bitmasks(rng, shares, n_users)  # bit k: a float32 uniform below share k
        switch_cost = rng.standard_exponential(n_users, dtype=np.float32)
        inertia = np.exp(-self.choice.b_switch * market.switching_cost_mean * switch_cost)
        self.inertia = (inertia / inertia.mean(dtype=np.float64)).astype(np.float32)
        self.inertia_max = float(self.inertia.max(initial=0.0))
        # users alike in segment and home apps share one column of the month's utility
        self.kind, self.kind_segment, self.kind_apps = kinds(self.segment, self.apps, len(app_ids))
        self.neighbors = social_graph(
            n_users, social.degree, social.community_size, social.within_community, rng
        )
        self.n_adopters = round(n_users * market.adopters_m / market.internet_users_m)
        self.main = np.full(n_users, NONE, dtype=np.int8)
        self.used = np.zeros(n_users, dtype=np.uint32)
        # `used` in the narrowest type, read at random for friends' uses (16 bits for 16 firms)
        self._friend_masks = np.zeros(n_users, dtype=smallest_unsigned(self.n_firms))
        self.paid = np.zeros(n_users, dtype=np.uint32)
        self._trial_users = np.empty(0, dtype=np.int64)  # sorted; all with a trial use
        self.patterns: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        # the awareness state and what month 0 fits (fit_month0)
        self.awareness_state = np.zeros((self.n_firms, len(SEGMENTS)))
        self.forgetting = np.full(self.n_firms, 1.0)
        self.outside = 0.0
        self.secondary = 0.0
        self.fit: Month0Fit | None = None
        self._reach_cache: dict[int, np.ndarray] = {}
        self.migration = self._empty_migration()
        self._main_counts = np.zeros(self.n_firms, dtype=np.int64)
        self._mau = np.zeros(self.n_firms, dtype=np.int64)
        self._by_segment = np.zeros((self.n_firms, len(SEGMENTS)), dtype=np.int64)
        self._adopters_by_segment = np.bincount(
            self.segment[: self.n_adopters], minlength=len(SEGMENTS)
        )
        self._active = 0

    @property
    def adoption_order(self) -> np.ndarray:
        """Users in the order they adopt: the numbering itself."""
        return np.arange(self.n)

    @property
    def assistant(self) -> np.ndarray:
        """Every user's main assistant (-1 for none)."""
        return self.main

    # ------------------------------------------------------------------ set-up

    def home_mask(self, apps: list[str]) -> np.uint64:
        """Bitmask of a firm's home apps."""
        mask = np.uint64(0)
        for app in apps:
            mask |= self.app_bit[app]
        return mask

    def fit_month0(
        self, view: MarketView, reconsider_rate: float, bass_p: float, bass_q: float
    ) -> Month0Fit:
        """Build month 0 through the awareness state.

        On a sample of adopters, each firm's forgetting rate (and so the awareness it
        sustains with every channel in place), the outside option and the secondary
        threshold are fitted so that, at the stationary state of the month's flows, the
        firms' MAU, the share of adopters using an assistant (``1 - lapsed_share``) and
        the sum of MAU over adopters match the roster. A user who reviews at rate ``w``
        and redraws their month from a law ``p`` spends a share of time ``p / w`` in each
        state, so a firm whose users review rarely (high supply) needs fewer choices than
        users to hold its place; with growth ``g`` (newcomers per adopter in month 1,
        who draw from ``p``) the share is ``p / (w + g)``. Friends are first taken at the
        firms' mean shares;
        every adopter's month is drawn from the fitted law, and the fit is repeated with
        the sample's actual friends so that the flows balance on the graph as drawn. The
        placement is not counted as migration.
        """
        adopters = self.n_adopters
        target = self.mau_target_m / self.weight_m / adopters  # MAU per adopter
        remaining = self.n - adopters
        growth = (bass_p + bass_q * adopters / self.n) * remaining / max(adopters, 1)
        # how fast each firm's main users leave their state; the last entry is none
        self._hold = np.append(reconsider_rate * view.stickiness, reconsider_rate) + growth
        sample = self._sample()
        share_guess = np.repeat(target[:, None], len(SEGMENTS), axis=1)
        mean_friends = target.astype(np.float32)  # the firms' mean shares, for everyone
        utility = systematic(self, sample, view, mean_friends, aware=False).astype(np.float64)
        # at the mean shares, users of one cell see the same utility: a column per cell
        cells = utility_table(self, view, aware=False)[1][self.kind[sample]]
        _, first, column = np.unique(cells, return_index=True, return_inverse=True)
        state = FitState(lever=np.zeros(self.n_firms), outside=0.0, secondary=2.0)
        segment = self.segment[sample]
        self._fit(utility[:, first], segment[first], view, share_guess, target, state, column)
        every = np.arange(adopters)
        for start in range(0, adopters, CHUNK):
            chunk = every[start : start + CHUNK]
            self._place(chunk, systematic(self, chunk, view, mean_friends), view)
        utility, segment, element = friends_utility(self, sample, view)
        self._fit(utility, segment, view, self._usage_shares(), target, state, element=element)
        self.migration = self._empty_migration()
        self.fit = Month0Fit(
            forgetting=self.forgetting.copy(),
            awareness=self.awareness_state.copy(),
            outside=self.outside,
            secondary=self.secondary,
            mau_target=self.mau_target_m.copy(),
            mau=self._mau * self.weight_m,
            active_share=self._active / adopters,
            mau_per_adopter=float(self._mau.sum() / adopters),
        )
        return self.fit

    def _sample(self) -> np.ndarray:
        size = min(self.awareness.fit_sample, self.n_adopters)
        return np.sort(self.rng.choice(self.n_adopters, size=size, replace=False))

    def _fit(
        self,
        utility: np.ndarray,
        segment: np.ndarray,
        view: MarketView,
        shares: np.ndarray,
        target: np.ndarray,
        state: FitState,
        column: np.ndarray | None = None,
        element: np.ndarray | None = None,
    ) -> None:
        """Fit the forgetting rates, ``u0`` and ``s0`` on a sample (sim/awareness.py):
        `utility` by column, `segment` each column's, `column` each sampled user's (None:
        one column per user), or `element` each sampled user's for each firm; leaves
        the fitted awareness as the state."""
        present = (target > 0) & view.choosable
        stick = (self._hold[:-1] / self._hold[-1])[:, None]
        rate_in = self._inflow(view, shares)
        self.awareness_state = fit_levers(
            self.awareness,
            state,
            utility,
            segment,
            rate_in,
            present,
            stick,
            target,
            column,
            element,
        )
        self.forgetting = self.awareness.forget * np.exp(-state.lever)
        self.outside, self.secondary = state.outside, state.secondary

    def _place(self, who: np.ndarray, utility: np.ndarray, view: MarketView) -> None:
        """Draw the month of each user in `who` from the stationary law of the fit."""
        stick = (self._hold[:-1] / self._hold[-1]).astype(np.float32)[:, None]
        self._apply(who, *self._redraw(who, view, utility, stick), view)

    # ------------------------------------------------------------------ monthly

    def move(self, view: MarketView, reconsider_rate: float, bass_p: float, bass_q: float) -> None:
        """One month: awareness moves, users review and new users adopt; every chooser
        redraws their month. Changes of main assistant go into the migration matrix.

        Args:
            view: the firms as users see them this month.
            reconsider_rate: the month's review rate before stickiness and inertia.
            bass_p, bass_q: Bass diffusion coefficients (per month), before news.
        """
        self.update_awareness(view)
        reviewers = self.reviewers(view, reconsider_rate)
        fresh = self.new_adopters(bass_p, bass_q, news=float(view.buzz.sum()))
        self.choose(np.concatenate([reviewers, fresh]), view)

    def update_awareness(self, view: MarketView) -> None:
        """Awareness moves towards what this month's channels sustain (module docstring)."""
        forgetting = np.where(view.forgetting > 0, view.forgetting, self.forgetting)
        state = advance(self.awareness_state, self._inflow(view, self._usage_shares()), forgetting)
        self.awareness_state = np.where(view.choosable[:, None], state, self.awareness_state)

    def new_adopters(self, bass_p: float, bass_q: float, news: float = 0.0) -> np.ndarray:
        """Users who first adopt AI this month (Bass diffusion down the adoption order;
        news raises the external rate)."""
        remaining = self.n - self.n_adopters
        external = bass_p * (1.0 + self.awareness.news_adoption * news)
        expected = min(1.0, external + bass_q * self.n_adopters / self.n) * remaining
        count = int(expected) + int(self.rng.random() < expected - int(expected))
        count = min(count, remaining)
        fresh = np.arange(self.n_adopters, self.n_adopters + count)
        self.n_adopters += count
        self._adopters_by_segment += np.bincount(self.segment[fresh], minlength=len(SEGMENTS))
        return fresh

    def reviewers(self, view: MarketView, reconsider_rate: float) -> np.ndarray:
        """Adopters who review their month, each independently with probability
        ``max(r * stick[main] * inertia_i, trial rate if their main use was paid,
        flight[main])`` (``r * inertia_i`` for users with no assistant).

        Drawn by thinning: candidates are the successes of a Bernoulli process at a bound
        ``top`` on every adopter's review rate (walked by geometric skips), and each is kept
        with its own probability over ``top``. The few whose trial or flight rate is above
        the bound (trial users, a collapsing firm's users) are all candidates, each kept
        with their own probability."""
        rates = review_rates(reconsider_rate, view.stickiness, view.trial_review_rate, view.flight)
        top = min(1.0, rates[0].max() * self.inertia_max)
        if self.n_adopters == 0 or max(top, rates[1:].max()) <= 0.0:
            return np.empty(0, dtype=np.int64)
        trial = self._trial_users = self._trial_users[self.paid[self._trial_users] != 0]
        fast = fast_reviewers(self.main[: self.n_adopters], self.paid, trial, rates, top)
        candidates, bound = thinning_candidates(self.n_adopters, top, fast, self.rng)
        # an index of -1 (none) reads the last column
        current = self.main[candidates]
        prob = rates[0][current] * self.inertia[candidates]
        if rates[2].any():
            prob = np.maximum(prob, rates[2][current])
        if len(trial):
            paid = (self.paid[candidates] & self.bits[current]) != 0
            prob = np.where(paid & (current >= 0), np.maximum(prob, rates[1][current]), prob)
        return candidates[self.rng.random(len(candidates), dtype=np.float32) * bound < prob]

    def choose(self, who: np.ndarray, view: MarketView) -> None:
        """Each user in `who` redraws their month: a main assistant or none (a lapse), then
        secondaries. All choose at once: everyone sees their friends as they were before.

        Users draw a block at a time, whose firms x users arrays stay in the processor's
        cache; the utility of each cell of users is computed once (sim/view.py)."""
        if len(who) == 0:
            return
        table, cells = utility_table(self, view, centre=self.secondary)
        weight = (self.choice.b_social * view.social / self.neighbors.shape[1]).astype(np.float32)
        main = np.empty(len(who), dtype=np.int8)
        used = np.empty(len(who), dtype=np.uint32)
        for start in range(0, len(who), BLOCK):
            block = who[start : start + BLOCK]
            utility = self._block_utility(block, table, cells, weight)
            part = slice(start, start + len(block))
            main[part], used[part] = self._redraw(block, view, utility, centred=True)
        self._apply(who, main, used, view)

    def transfer(self, source: int, target: int, fraction: float) -> None:
        """`fraction` of one firm's users move their use of it to another (an acquisition)."""
        members = self.members(source)
        moving = members[self.rng.random(len(members)) < fraction]
        if len(moving) == 0:
            return
        used = (self.used[moving] & ~self.bits[source]) | self.bits[target]
        main = np.where(self.main[moving] == source, target, self.main[moving]).astype(np.int8)
        self._apply(moving, main, used, None)

    def evacuate(self, source: int, view: MarketView) -> None:
        """Every remaining user of a firm that left the market redraws their month."""
        self.choose(self.members(source), view)

    # ------------------------------------------------------------------ readings

    def members(self, firm: int) -> np.ndarray:
        """The users who used `firm` this month (only adopters use any)."""
        return np.flatnonzero(self.used[: self.n_adopters] & self.bits[firm])

    def counts(self) -> np.ndarray:
        """Simulated users whose main assistant is each firm."""
        return self._main_counts.copy()

    def mau_counts(self) -> np.ndarray:
        """Simulated users who used each firm this month."""
        return self._mau.copy()

    def users_m(self) -> np.ndarray:
        """Real users (millions) whose main assistant is each firm."""
        return self._main_counts * self.weight_m

    def mau_m(self) -> np.ndarray:
        """Real monthly active users (millions) of each firm."""
        return self._mau * self.weight_m

    @property
    def active_m(self) -> float:
        """Real people (millions) who used at least one assistant this month."""
        return self._active * self.weight_m

    def supply_need(self) -> np.ndarray:
        """Each firm's main users' mean need for supply (0-1), by their segments."""
        totals = self._by_segment.sum(axis=1)
        return np.divide(
            self._by_segment @ self.need, totals, out=np.zeros(self.n_firms), where=totals > 0
        )

    def share_in_segment(self, firm: int, segment: str) -> float:
        """The firm's share of main users within one segment."""
        column = self._by_segment[:, SEGMENTS.index(segment)]
        total = column.sum()
        return float(column[firm] / total) if total else 0.0

    def take_migration(self) -> np.ndarray:
        """This month's from -> to counts of simulated users (last index: none); resets."""
        matrix, self.migration = self.migration, self._empty_migration()
        return matrix

    # ------------------------------------------------------------------ internals

    def _usage_shares(self) -> np.ndarray:
        """Main users of each firm over each segment's adopters (firms x segments)."""
        return self._by_segment / np.maximum(self._adopters_by_segment, 1)[None, :]

    def _inflow(self, view: MarketView, shares: np.ndarray) -> np.ndarray:
        """Monthly rate at which each segment's people come to know each firm."""
        return inflow(
            self.awareness,
            reach_shares(self.apps, view.home_mask, self._reach_cache),
            view.attention,
            view.buzz,
            view.cash_bn,
            shares,
        )

    def _friend_counts(self, who: np.ndarray) -> np.ndarray:
        """How many of each user's friends used each firm this month, firms x users
        (float32): the friends' masks added in packed counters (sim/social.py)."""
        counts = np.empty((self.n_firms, len(who)), dtype=np.float32)
        ties = np.take(self.neighbors, who, axis=0)
        friend_counts(self._friend_masks, ties, self.n_firms, counts)
        return counts

    def _friend_shares(self, who: np.ndarray) -> np.ndarray:
        """Share of each user's friends who used each firm this month, firms x users."""
        shares = self._friend_counts(who)
        shares *= np.float32(1.0 / self.neighbors.shape[1])
        return shares

    def _block_utility(
        self, who: np.ndarray, table: np.ndarray, cells: np.ndarray, weight: np.ndarray
    ) -> np.ndarray:
        """Utility of users in `who` from their cell's `table` column plus `weight` (per
        firm) times their friends who used the firm (firms x users, float32)."""
        utility = np.take(table, np.take(cells, np.take(self.kind, who)), axis=1)
        counts = self._friend_counts(who)
        counts *= weight[:, None]
        utility += counts
        return utility

    def _redraw(
        self,
        who: np.ndarray,
        view: MarketView,
        weighted: np.ndarray,
        stick: np.ndarray | None = None,
        *,
        centred: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw a main assistant (or none) and secondaries for each user in `who` from
        their utilities plus log awareness (`weighted`, firms x users; overwritten; less
        the secondary threshold ``s0`` already if `centred`); with `stick`, from the
        stationary law (choice weights over review rates). See sim/choice.py."""
        if not centred:
            weighted -= np.float32(self.secondary)
        return draw_months(weighted, self.rng, np.exp(self.outside - self.secondary), stick)

    def _apply(
        self, who: np.ndarray, main: np.ndarray, used: np.ndarray, view: MarketView | None
    ) -> None:
        """Users in `who` take their new main assistant and uses: trial flags, counts and
        migration follow."""
        old_main = self.main[who]
        old_used = self.used[who]
        if view is not None:
            # a new use of an assistant running a cash campaign is a trial; a review that
            # keeps a use makes it the user's own
            campaign = np.bitwise_or.reduce(self.bits[view.cash_bn > 0], initial=np.uint32(0))
            paid = used & ~old_used & np.uint32(campaign)
            if paid.any():
                merged = np.sort(np.concatenate([self._trial_users, who[paid != 0]]))
                self._trial_users = merged[np.diff(merged, prepend=-1) != 0]
            self.paid[who] = paid
        self._mau += bit_counts(used, self.n_firms) - bit_counts(old_used, self.n_firms)
        self._active += int(np.count_nonzero(used) - np.count_nonzero(old_used))
        moved = old_main != main
        if moved.any():
            moves = count_moves(
                old_main[moved], main[moved], self.segment[who[moved]], self.n_firms
            )
            change = moves[:, :-1].sum(axis=0) - moves[:-1].sum(axis=1)
            self._by_segment += change
            self._main_counts += change.sum(axis=1)
            self.migration += moves.sum(axis=2)
        self.main[who] = main
        self.used[who] = used
        self._friend_masks[who] = used

    def _empty_migration(self) -> np.ndarray:
        return np.zeros((self.n_firms + 1, self.n_firms + 1), dtype=np.int64)
