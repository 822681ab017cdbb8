"""The demand blocks of the scenario schema: the user population and its diffusion
(`[market]`), the social graph (`[social]`), the logit over assistants (`[choice]`) and who
knows of which assistant (`[awareness]`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from sim.schema_types import (
    SEGMENTS,
    Fraction,
    NonNegative,
    Positive,
    PositiveBn,
    PositiveMillionPeople,
    Strict,
    check_keys,
)


class Market(Strict):
    """The user population and its diffusion (users in millions of real people)."""

    internet_users_m: PositiveMillionPeople
    adopters_m: PositiveMillionPeople
    bass_p: Fraction
    bass_q: Fraction
    segments: dict[str, Fraction]
    supply_need: dict[str, Fraction]
    reconsider_rate: Fraction
    campaign_reconsider_per_bn: NonNegative
    supply_stickiness: Fraction
    switching_cost_mean: NonNegative

    @model_validator(mode="after")
    def _segments(self) -> Market:
        check_keys("segments", self.segments, SEGMENTS)
        check_keys("supply_need", self.supply_need, SEGMENTS)
        total = sum(self.segments.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"segments: shares must sum to 1, they sum to {total:.4f}")
        if self.adopters_m > self.internet_users_m:
            raise ValueError("adopters_m: must not exceed internet_users_m")
        return self


class Social(Strict):
    """The synthetic social graph: fixed out-degree, communities of similar size."""

    degree: Annotated[int, Field(ge=1, le=200)]
    # assumption: a community of a million people is already a city, not a circle of friends
    community_size: Annotated[int, Field(ge=2, le=1_000_000)]
    within_community: Fraction


class Choice(Strict):
    """Weights of the logit over assistants (utility units)."""

    b_quality: NonNegative
    b_supply: NonNegative
    b_reach: NonNegative
    b_social: NonNegative
    b_marketing: NonNegative
    b_match: NonNegative
    b_switch: NonNegative


class Awareness(Strict):
    """Who knows of which assistant, attention, news, trial and the month-0 fit."""

    background_exposure: NonNegative
    reach_exposure: NonNegative
    word_of_mouth: NonNegative
    marketing_exposure: NonNegative
    news_exposure: NonNegative
    campaign_exposure_per_bn: NonNegative
    forget: Positive
    marketing_memory: Annotated[float, Field(ge=0.0, lt=1.0)]
    marketing_scale_bn: PositiveBn
    news_memory: Annotated[float, Field(ge=0.0, lt=1.0)]
    news_reconsider: NonNegative
    news_adoption: NonNegative
    breakthrough_news: NonNegative
    trial_review_rate: Fraction
    entry_forgetting: Positive
    lapsed_share: Annotated[float, Field(gt=0.0, lt=1.0)]
    # assumption: 50 times the default sample; more only costs memory at set-up
    fit_sample: Annotated[int, Field(ge=100, le=1_000_000)]
