"""Calibration: fit the parameters marked ``calibrated:`` in seeds/parameters.toml to the
public targets in seeds/calibration.toml.

* ``fit_bass``: Bass diffusion (p, q) so that adopters pass through CNNIC's 230M (Jun
  2024), 515M (Jun 2025) and 602M (Dec 2025), with the addressable population fixed at all
  internet users (602M is 42.8% of them).
* ``fit_startups``: monthly births for 2023 and 2024, with Qichacha's profile (R2) scaled so
  the cohorts counted as 1-3 years old on 2026-01-29 total F1 + F2; and the base monthly
  closure hazard that leaves F2 of them closed by then.

``python -m sim.calibration`` prints the fitted values next to those in seeds/parameters.toml;
the test suite fails when the two drift apart.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from sim.calendar import month_index
from sim.scenario import read_toml
from sim.schema import PARAMETERS_FILE, SEEDS_DIR

CALIBRATION_FILE = SEEDS_DIR / "calibration.toml"


@cache
def _targets() -> dict:
    return read_toml(CALIBRATION_FILE, what="seed file")["targets"]


def targets() -> dict[str, dict]:
    """The calibration targets by id (value, unit, date, source, used_for)."""
    return dict(_targets())


def bass_path(p: float, q: float, start_m: float, market_m: float, months: int) -> np.ndarray:
    """Adopters (millions) month by month under Bass diffusion from `start_m`."""
    adopters = [start_m]
    for _ in range(months):
        a = adopters[-1]
        adopters.append(a + (p + q * a / market_m) * (market_m - a))
    return np.array(adopters)


def fit_bass() -> dict[str, float]:
    """Bass coefficients fitted to CNNIC's three counts (relative least squares)."""
    t = targets()
    points = [t["genai_users_2024_06"], t["genai_users_2025_06"], t["genai_users_2025_12"]]
    market = t["genai_users_2025_12"]["value"] / t["genai_penetration_2025_12"]["value"]
    offsets = [month_index(pt["date"], points[0]["date"]) - 1 for pt in points]
    values = np.array([pt["value"] for pt in points])

    def residuals(x: np.ndarray) -> np.ndarray:
        path = bass_path(x[0], x[1], values[0], market, offsets[-1])
        return (path[offsets] - values) / values

    from scipy.optimize import least_squares  # fitting needs scipy; reading targets does not

    fit = least_squares(residuals, x0=[0.01, 0.1], bounds=([0, 0], [1, 1]))
    path = bass_path(fit.x[0], fit.x[1], values[0], market, offsets[-1])
    return {
        "bass_p": float(fit.x[0]),
        "bass_q": float(fit.x[1]),
        "internet_users_m": float(market),
        "max_relative_error": float(np.max(np.abs(path[offsets] - values) / values)),
    }


def fit_startups(warmup_start: str = "2023-01", census: str = "2026-01") -> dict[str, float]:
    """Births per month (2023, 2024) and the base hazard matching F1 and F2.

    The census is taken at the end of `census`; a firm is 1-3 years old when born 12 to 35
    months before it, as in sim/startups.py. A startup faces the hazard from the month after
    its birth.
    """
    from scipy.optimize import brentq

    t = targets()
    alive = t["startups_alive_2026_01"]["value"]
    closed = t["startups_closed_2026_01"]["value"]
    rate_2023 = t["ai_registrations_2023"]["value"] / 12
    rate_2024 = t["ai_registrations_2024_h1"]["value"] / 6
    now = month_index(census, warmup_start) - 1
    births_month = np.arange(now - 35, now - 11)
    year_of = 2023 + births_month // 12
    profile = np.where(year_of == 2023, rate_2023, rate_2024)
    scale = (alive + closed) / profile.sum()
    exposure = now - births_month
    weights = profile / profile.sum()
    share_closed = closed / (alive + closed)

    def gap(h: float) -> float:
        return float(weights @ (1 - (1 - h) ** exposure)) - share_closed

    return {
        "births_2023": float(rate_2023 * scale),
        "births_2024": float(rate_2024 * scale),
        "base_hazard": float(brentq(gap, 1e-6, 0.5)),
    }


def main() -> None:
    """Print the fits beside the values in seeds/parameters.toml."""
    params = read_toml(PARAMETERS_FILE, what="seed file")
    bass, born = fit_bass(), fit_startups(params["startups"]["warmup_start"])
    rows = [
        ("market.bass_p", bass["bass_p"], params["market"]["bass_p"]),
        ("market.bass_q", bass["bass_q"], params["market"]["bass_q"]),
        ("market.internet_users_m", bass["internet_users_m"], params["market"]["internet_users_m"]),
        (
            "startups.births_per_month.2023",
            born["births_2023"],
            params["startups"]["births_per_month"]["2023"],
        ),
        (
            "startups.births_per_month.2024",
            born["births_2024"],
            params["startups"]["births_per_month"]["2024"],
        ),
        ("startups.base_hazard", born["base_hazard"], params["startups"]["base_hazard"]),
    ]
    print(f"{'parameter':34} {'fitted':>14} {'in seeds':>14}")
    for name, fitted, seeded in rows:
        print(f"{name:34} {fitted:14.6g} {seeded:14.6g}")
    print(f"Bass fit: largest relative error {bass['max_relative_error']:.1%}")


if __name__ == "__main__":
    main()
