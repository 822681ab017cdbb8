"""The user-choice submodel written the plain Mesa way: one agent per user.

``ReferenceUsers`` is a Mesa model whose agents are ``User`` objects, one per simulated
user, stepped through the model's AgentSet. Each agent holds the state a row of
``sim.users.UserPopulation`` holds (segment, home apps, inertia, friends, main assistant,
the assistants used and the trial uses, place in the adoption order) and applies the same
monthly rules to itself, one agent at a time, in plain Python: review your month with your
own probability, adopt when your turn in the adoption order comes, choose a main assistant
(or none) by the awareness-weighted logit with Gumbel noise and each secondary by its own
draw. The awareness state of each firm and segment is the model's, updated from the
agents' choices.

It exists for two uses and is not part of a model run:

- docking: ``tests/test_reference.py`` drives it and the vectorised population with the
  same ``MarketView`` inputs over many seeds and checks that monthly users and migration
  flows have the same distribution;
- the speed anchor: ``benchmarks/reference_ratio.py`` times both on the same inputs.

It offers the methods the model calls on a ``UserPopulation`` (``move``, ``choose``,
``transfer``, ``evacuate`` and the readings ``counts``, ``users_m``, ``supply_need``,
``take_migration``), so one sequence of calls can drive either. It starts from a fitted
``UserPopulation``: month 0 (awareness, forgetting rates, outside option, secondary
threshold, every user's month, friends) is shared, and only the months that follow are
simulated twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np

from sim.users import NONE, MarketView, UserPopulation


@dataclass(frozen=True)
class Firms:
    """A month's ``MarketView`` as plain Python lists, plus the fixed parts of utility."""

    n: int
    choosable: list[int]
    base: list[float]  # b_quality*quality + b_marketing*attention
    supply: list[float]
    social: list[float]
    fit: list[list[float]]  # (firms, segments)
    home_mask: list[int]
    stickiness: list[float]
    flight: list[float]
    trial: list[float]
    campaign: list[bool]

    @classmethod
    def from_view(cls, view: MarketView, b_quality: float, b_marketing: float) -> Firms:
        n = len(view.quality)
        return cls(
            n=n,
            choosable=[j for j in range(n) if view.choosable[j]],
            base=[
                b_quality * float(view.quality[j]) + b_marketing * float(view.attention[j])
                for j in range(n)
            ],
            supply=[float(x) for x in view.supply],
            social=[float(x) for x in view.social],
            fit=[[float(x) for x in row] for row in view.fit],
            home_mask=[int(x) for x in view.home_mask],
            stickiness=[float(x) for x in view.stickiness],
            flight=[float(x) for x in view.flight],
            trial=[float(x) for x in view.trial_review_rate],
            campaign=[float(x) > 0 for x in view.cash_bn],
        )


class User(mesa.Agent):
    """One person, their main AI assistant and the others they use.

    Args:
        model: the ReferenceUsers model.
        segment: index into SEGMENTS.
        apps: bitmask of the home apps the user has.
        inertia: multiplier of the user's review rate (mean 1 over users).
        rank: place in the adoption order.
        main: firm index of the main assistant, or NONE.
        used: the firms used this month.
        paid: the firms whose use a cash campaign brought.
    """

    def __init__(
        self,
        model: ReferenceUsers,
        segment: int,
        apps: int,
        inertia: float,
        rank: int,
        main: int,
        used: set[int],
        paid: set[int],
    ) -> None:
        super().__init__(model)
        self.segment = segment
        self.apps = apps
        self.inertia = inertia
        self.rank = rank
        self.main = main
        self.used = used
        self.paid = paid
        self.friends: list[User] = []
        self.next: tuple[int, set[int]] | None = None

    # ------------------------------------------------------------------ the month

    def decide(self) -> None:
        """Phase one: whether to redraw this month, and what (nothing changes yet, so
        every agent sees its friends as they were)."""
        model = self.model
        if self.rank < model.n_adopters:
            if self.random.random() < self.review_probability(model.firms, model.rate):
                self.next = self.redraw(model.firms)
        elif self.rank < model.adopt_below:
            self.next = self.redraw(model.firms)

    def advance(self) -> None:
        """Phase two: take the month decided on."""
        if self.next is not None:
            main, used = self.next
            firms = self.model.firms
            self.paid = {j for j in used - self.used if firms.campaign[j]}
            self.model.record_move(self.main, main)
            self.main, self.used = main, used
            self.next = None

    def decide_again(self) -> None:
        """Redraw now (an assistant one used left the market)."""
        self.next = self.redraw(self.model.firms)

    # ------------------------------------------------------------------ the rules

    def review_probability(self, firms: Firms, rate: float) -> float:
        """Chance of reviewing this month: the market rate, made rarer by the main
        assistant's stickiness and one's own inertia; a trial user's rate; the flight
        from a collapsing firm."""
        if self.main == NONE:
            return rate * self.inertia
        p = max(rate * firms.stickiness[self.main] * self.inertia, firms.flight[self.main])
        if self.main in self.paid:
            p = max(p, firms.trial[self.main])
        return p

    def friend_shares(self) -> list[float]:
        """Share of one's friends who used each firm this month."""
        shares = [0.0] * self.model.n_firms
        for friend in self.friends:
            for firm in friend.used:
                shares[firm] += 1.0
        return [count / len(self.friends) for count in shares]

    def utility(self, firm: int, firms: Firms, friends: list[float]) -> float:
        """Systematic utility of one assistant for this user, awareness included."""
        p = self.model.choice
        need = self.model.need[self.segment]
        reach = 1.0 if self.apps & firms.home_mask[firm] else 0.0
        aware = self.model.awareness_state[firm][self.segment]
        return (
            firms.base[firm]
            + p.b_supply * firms.supply[firm] * need
            + p.b_reach * reach
            + p.b_social * firms.social[firm] * friends[firm]
            + p.b_match * firms.fit[firm][self.segment]
            + (math.log(aware) if aware > 0 else -math.inf)
        )

    def redraw(self, firms: Firms) -> tuple[int, set[int]]:
        """The main assistant with the highest utility plus Gumbel noise (none: the outside
        option), then each other open assistant used with probability
        ``sigmoid(utility - s0)``."""
        friends = self.friend_shares()
        model = self.model
        best, best_value = NONE, model.outside + _gumbel(self.random)
        values = {}
        for firm in firms.choosable:
            values[firm] = self.utility(firm, firms, friends)
            value = values[firm] + _gumbel(self.random)
            if value > best_value:
                best, best_value = firm, value
        if best == NONE:
            return NONE, set()
        used = {best}
        for firm, value in values.items():
            if firm != best and self.random.random() < _sigmoid(value - model.secondary):
                used.add(firm)
        return best, used


def _gumbel(random) -> float:
    return -math.log(-math.log(1.0 - random.random()))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


class ReferenceUsers(mesa.Model):
    """The user population as one Mesa agent per user, started from a fitted population.

    Args:
        population: a UserPopulation after ``fit_month0`` (read, not changed).
        rng: integer seed of this model's random numbers.
    """

    agent_class = User

    def __init__(self, population: UserPopulation, rng: int) -> None:
        super().__init__(rng=rng)
        self.choice = population.choice
        self.aw = population.awareness
        self.n = population.n
        self.n_firms = population.n_firms
        self.n_segments = len(population.need)
        self.weight_m = population.weight_m
        self.need = [float(x) for x in population.need]
        self.outside = float(population.outside)
        self.secondary = float(population.secondary)
        self.forgetting = [float(x) for x in population.forgetting]
        self.awareness_state = [[float(x) for x in row] for row in population.awareness_state]
        self.n_adopters = population.n_adopters
        self.adopt_below = self.n_adopters
        self.rate = 0.0
        self.firms: Firms | None = None
        rank = np.empty(population.n, dtype=np.int64)
        rank[population.adoption_order] = np.arange(population.n)
        bits = list(range(population.n_firms))
        self.people = [
            self.agent_class(
                self,
                segment=int(population.segment[i]),
                apps=int(population.apps[i]),
                inertia=float(population.inertia[i]),
                rank=int(rank[i]),
                main=int(population.main[i]),
                used={j for j in bits if int(population.used[i]) >> j & 1},
                paid={j for j in bits if int(population.paid[i]) >> j & 1},
            )
            for i in range(population.n)
        ]
        for person, friends in zip(self.people, population.neighbors.tolist(), strict=True):
            person.friends = [self.people[j] for j in friends]
        self.migration = self._empty_migration()

    def see(self, view: MarketView) -> None:
        """Take in this month's view of the firms."""
        p = self.choice
        self.firms = Firms.from_view(view, p.b_quality, p.b_marketing)

    def update_awareness(self, view: MarketView) -> None:
        """Each firm's awareness in each segment moves towards what the channels sustain."""
        aw = self.aw
        main_by_segment = [[0] * self.n_segments for _ in range(self.n_firms)]
        adopters = [0] * self.n_segments
        for person in self.agents:
            adopters[person.segment] += person.rank < self.n_adopters
            if person.main != NONE:
                main_by_segment[person.main][person.segment] += 1
        for firm in range(self.n_firms):
            if not view.choosable[firm]:
                continue
            mask = int(view.home_mask[firm])
            reach = sum(1 for person in self.people if person.apps & mask) / self.n if mask else 0
            per_firm = (
                aw.background_exposure
                + aw.reach_exposure * reach
                + aw.marketing_exposure * float(view.attention[firm])
                + aw.news_exposure * float(view.buzz[firm])
                + aw.campaign_exposure_per_bn * float(view.cash_bn[firm])
            )
            entrant = float(view.forgetting[firm])
            forgetting = entrant if entrant > 0 else self.forgetting[firm]
            for segment in range(self.n_segments):
                share = main_by_segment[firm][segment] / max(adopters[segment], 1)
                inflow = per_firm + aw.word_of_mouth * share
                steady = inflow / (inflow + forgetting)
                old = self.awareness_state[firm][segment]
                decay = math.exp(-(inflow + forgetting))
                self.awareness_state[firm][segment] = steady + (old - steady) * decay

    # ------------------------------------------------------------------ the population's methods

    def move(self, view: MarketView, reconsider_rate: float, bass_p: float, bass_q: float) -> None:
        """One month: awareness moves, every agent decides, then all advance."""
        self.update_awareness(view)
        self.see(view)
        self.rate = reconsider_rate
        remaining = self.n - self.n_adopters
        news = float(view.buzz.sum())
        external = bass_p * (1.0 + self.aw.news_adoption * news)
        expected = min(1.0, external + bass_q * self.n_adopters / self.n) * remaining
        count = int(expected) + int(self.random.random() < expected - int(expected))
        self.adopt_below = self.n_adopters + min(count, remaining)
        self.agents.do("decide")
        self.agents.do("advance")
        self.n_adopters = self.adopt_below

    def choose(self, who, view: MarketView) -> None:
        """Each user in `who` (indices) redraws now."""
        self.see(view)
        chosen = [self.people[i] for i in who]
        for person in chosen:
            person.decide_again()
        for person in chosen:
            person.advance()

    def transfer(self, source: int, target: int, fraction: float) -> None:
        """Each user of `source` moves that use to `target` with probability `fraction`."""
        for person in self.agents:
            if source in person.used and self.random.random() < fraction:
                person.used = (person.used - {source}) | {target}
                if person.main == source:
                    self.record_move(source, target)
                    person.main = target

    def evacuate(self, source: int, view: MarketView) -> None:
        """Every user of a firm that left the market redraws."""
        self.choose([i for i, person in enumerate(self.people) if source in person.used], view)

    @property
    def assistant(self) -> np.ndarray:
        """Every user's main assistant (NONE for none), by user index."""
        return np.array([person.main for person in self.people])

    def counts(self) -> np.ndarray:
        """Simulated users whose main assistant is each firm."""
        counts = np.zeros(self.n_firms, dtype=np.int64)
        for person in self.agents:
            if person.main != NONE:
                counts[person.main] += 1
        return counts

    def mau_counts(self) -> np.ndarray:
        """Simulated users who used each firm this month."""
        counts = np.zeros(self.n_firms, dtype=np.int64)
        for person in self.agents:
            for firm in person.used:
                counts[firm] += 1
        return counts

    def users_m(self) -> np.ndarray:
        """Real users (millions) whose main assistant is each firm."""
        return self.counts() * self.weight_m

    def mau_m(self) -> np.ndarray:
        """Real monthly active users (millions) of each firm."""
        return self.mau_counts() * self.weight_m

    def supply_need(self) -> np.ndarray:
        """Each firm's main users' mean need for supply (0-1), by their segments."""
        total = np.zeros(self.n_firms)
        users = np.zeros(self.n_firms)
        for person in self.agents:
            if person.main != NONE:
                total[person.main] += self.need[person.segment]
                users[person.main] += 1
        return np.divide(total, users, out=np.zeros(self.n_firms), where=users > 0)

    def take_migration(self) -> np.ndarray:
        """This month's from -> to counts (last index: none); resets."""
        matrix, self.migration = self.migration, self._empty_migration()
        return matrix

    def record_move(self, origin: int, target: int) -> None:
        """Count one user's change of main assistant in the migration matrix."""
        if origin != target:
            self.migration[
                self.n_firms if origin == NONE else origin,
                self.n_firms if target == NONE else target,
            ] += 1

    def _empty_migration(self) -> np.ndarray:
        return np.zeros((self.n_firms + 1, self.n_firms + 1), dtype=np.int64)
