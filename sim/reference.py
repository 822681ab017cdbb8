"""The user-choice submodel written the plain Mesa way: one agent per user.

``ReferenceUsers`` is a Mesa model whose agents are ``User`` objects, one per simulated
user, stepped through the model's AgentSet. Each agent holds the state a row of
``sim.users.UserPopulation`` holds (segment, home apps, inertia, friends, current
assistant, place in the adoption order) and applies the same monthly rules to itself, one
agent at a time, in plain Python: review your choice with your own probability, adopt when
your turn in the adoption order comes, and choose by the logit with Gumbel noise.

It exists for two uses and is not part of a model run:

- docking: ``tests/test_reference.py`` drives it and the vectorised population with the
  same ``MarketView`` inputs over many seeds and checks that monthly users and migration
  flows have the same distribution;
- the speed anchor: ``benchmarks/reference_ratio.py`` times both on the same inputs.

It offers the methods the model calls on a ``UserPopulation`` (``move``, ``choose``,
``transfer``, ``evacuate`` and the readings ``counts``, ``users_m``, ``supply_need``,
``take_migration``), so one sequence of calls can drive either. It starts from a placed
``UserPopulation``: month 0 (brand constants, assistants, friends) is shared, and only the
months that follow are simulated twice.
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
    base: list[float]  # asc + b_quality*quality + b_marketing*log(1 + marketing)
    supply: list[float]
    social: list[float]
    fit: list[list[float]]  # (firms, segments)
    home_mask: list[int]
    stickiness: list[float]
    flight: list[float]

    @classmethod
    def from_view(cls, view: MarketView, asc: list[float], b_quality: float, b_marketing: float):
        n = len(view.quality)
        return cls(
            n=n,
            choosable=[j for j in range(n) if view.choosable[j]],
            base=[
                asc[j]
                + b_quality * float(view.quality[j])
                + b_marketing * math.log1p(float(view.marketing_bn[j]))
                for j in range(n)
            ],
            supply=[float(x) for x in view.supply],
            social=[float(x) for x in view.social],
            fit=[[float(x) for x in row] for row in view.fit],
            home_mask=[int(x) for x in view.home_mask],
            stickiness=[float(x) for x in view.stickiness],
            flight=[float(x) for x in view.flight],
        )


class User(mesa.Agent):
    """One person and their main AI assistant.

    Args:
        model: the ReferenceUsers model.
        segment: index into SEGMENTS.
        apps: bitmask of the home apps the user has.
        inertia: multiplier of the user's reconsider rate (mean 1 over users).
        rank: place in the adoption order (the user adopts when fewer than `rank` others
            are left ahead).
        assistant: firm index of the main assistant, or NONE.
    """

    def __init__(
        self,
        model: ReferenceUsers,
        segment: int,
        apps: int,
        inertia: float,
        rank: int,
        assistant: int,
    ) -> None:
        super().__init__(model)
        self.segment = segment
        self.apps = apps
        self.inertia = inertia
        self.rank = rank
        self.assistant = assistant
        self.friends: list[User] = []
        self.next_assistant = NONE

    # ------------------------------------------------------------------ the month

    def decide(self) -> None:
        """Phase one of a move: whether to choose this month, and what (nothing changes
        yet, so every agent sees its friends as they were)."""
        model = self.model
        if self.rank < model.n_adopters:
            if self.random.random() < self.reconsider_probability(model.firms, model.rate):
                self.next_assistant = self.choose(model.firms)
        elif self.rank < model.adopt_below:
            self.next_assistant = self.choose(model.firms)

    def advance(self) -> None:
        """Phase two: take the assistant decided on."""
        if self.next_assistant != NONE:
            self.model.record_move(self.assistant, self.next_assistant)
            self.assistant = self.next_assistant
            self.next_assistant = NONE

    def decide_again(self) -> None:
        """Choose again now (the user's assistant left the market)."""
        self.next_assistant = self.choose(self.model.firms)

    # ------------------------------------------------------------------ the rules

    def reconsider_probability(self, firms: Firms, rate: float) -> float:
        """Chance of reviewing the choice this month: the market rate, made rarer by the
        assistant's stickiness and one's own inertia, or the flight from a collapsing firm."""
        if self.assistant == NONE:
            return rate * self.inertia
        return max(
            rate * firms.stickiness[self.assistant] * self.inertia, firms.flight[self.assistant]
        )

    def friend_shares(self) -> list[float]:
        """Share of one's friends whose main assistant is each firm."""
        shares = [0.0] * self.model.n_firms
        for friend in self.friends:
            if friend.assistant != NONE:
                shares[friend.assistant] += 1.0
        return [count / len(self.friends) for count in shares]

    def utility(self, firm: int, firms: Firms, friends: list[float]) -> float:
        """Systematic utility of one assistant for this user (no noise)."""
        p = self.model.choice
        need = self.model.need[self.segment]
        reach = 1.0 if self.apps & firms.home_mask[firm] else 0.0
        return (
            firms.base[firm]
            + p.b_supply * firms.supply[firm] * need
            + p.b_reach * reach
            + p.b_social * firms.social[firm] * friends[firm]
            + p.b_match * firms.fit[firm][self.segment]
        )

    def choose(self, firms: Firms) -> int:
        """The assistant with the highest utility plus Gumbel noise, among those open."""
        if not firms.choosable:
            return NONE
        friends = self.friend_shares()
        best, best_value = NONE, -math.inf
        for firm in firms.choosable:
            noise = -math.log(-math.log(1.0 - self.random.random()))
            value = self.utility(firm, firms, friends) + noise
            if value > best_value:
                best, best_value = firm, value
        return best


class ReferenceUsers(mesa.Model):
    """The user population as one Mesa agent per user, started from a placed population.

    Args:
        population: a UserPopulation after ``place_initial_users`` (read, not changed).
        rng: integer seed of this model's random numbers.
    """

    agent_class = User

    def __init__(self, population: UserPopulation, rng: int) -> None:
        super().__init__(rng=rng)
        self.choice = population.choice
        self.n = population.n
        self.n_firms = population.n_firms
        self.weight_m = population.weight_m
        self.need = [float(x) for x in population.need]
        self.asc = [float(x) for x in population.asc]
        self.n_adopters = population.n_adopters
        self.adopt_below = self.n_adopters
        self.rate = 0.0
        self.firms: Firms | None = None
        rank = np.empty(population.n, dtype=np.int64)
        rank[population.adoption_order] = np.arange(population.n)
        self.people = [
            self.agent_class(
                self,
                segment=int(population.segment[i]),
                apps=int(population.apps[i]),
                inertia=float(population.inertia[i]),
                rank=int(rank[i]),
                assistant=int(population.assistant[i]),
            )
            for i in range(population.n)
        ]
        for person, friends in zip(self.people, population.neighbors.tolist(), strict=True):
            person.friends = [self.people[j] for j in friends]
        self.migration = self._empty_migration()

    def see(self, view: MarketView) -> None:
        """Take in this month's view of the firms."""
        p = self.choice
        self.firms = Firms.from_view(view, self.asc, p.b_quality, p.b_marketing)

    # ------------------------------------------------------------------ the population's methods

    def move(self, view: MarketView, reconsider_rate: float, bass_p: float, bass_q: float) -> None:
        """One month: every agent decides (adopt, review or stay), then all advance."""
        self.see(view)
        self.rate = reconsider_rate
        remaining = self.n - self.n_adopters
        expected = (bass_p + bass_q * self.n_adopters / self.n) * remaining
        count = int(expected) + int(self.random.random() < expected - int(expected))
        self.adopt_below = self.n_adopters + min(count, remaining)
        self.agents.do("decide")
        self.agents.do("advance")
        self.n_adopters = self.adopt_below

    def choose(self, who: np.ndarray, view: MarketView) -> None:
        """Each user in `who` (indices) chooses again now."""
        self.see(view)
        chosen = [self.people[i] for i in who]
        for person in chosen:
            person.decide_again()
        for person in chosen:
            person.advance()

    def transfer(self, source: int, target: int, fraction: float) -> None:
        """Each user of `source` goes over to `target` with probability `fraction`."""
        for person in self.agents:
            if person.assistant == source and self.random.random() < fraction:
                self.record_move(source, target)
                person.assistant = target

    def evacuate(self, source: int, view: MarketView) -> None:
        """Every user of a firm that left the market chooses again."""
        self.choose([i for i, person in enumerate(self.people) if person.assistant == source], view)

    @property
    def assistant(self) -> np.ndarray:
        """Every user's main assistant (NONE for none), by user index."""
        return np.array([person.assistant for person in self.people])

    def counts(self) -> np.ndarray:
        """Simulated users per firm."""
        counts = np.zeros(self.n_firms, dtype=np.int64)
        for person in self.agents:
            if person.assistant != NONE:
                counts[person.assistant] += 1
        return counts

    def users_m(self) -> np.ndarray:
        """Real users (millions) whose main assistant is each firm."""
        return self.counts() * self.weight_m

    def supply_need(self) -> np.ndarray:
        """Each firm's users' mean need for supply (0-1), by their segments."""
        total = np.zeros(self.n_firms)
        users = np.zeros(self.n_firms)
        for person in self.agents:
            if person.assistant != NONE:
                total[person.assistant] += self.need[person.segment]
                users[person.assistant] += 1
        return np.divide(total, users, out=np.zeros(self.n_firms), where=users > 0)

    def take_migration(self) -> np.ndarray:
        """This month's from -> to counts (last index: none); resets."""
        matrix, self.migration = self.migration, self._empty_migration()
        return matrix

    def record_move(self, origin: int, target: int) -> None:
        """Count one user's move in the migration matrix."""
        if origin != target:
            self.migration[self.n_firms if origin == NONE else origin, target] += 1

    def _empty_migration(self) -> np.ndarray:
        return np.zeros((self.n_firms + 1, self.n_firms + 1), dtype=np.int64)
