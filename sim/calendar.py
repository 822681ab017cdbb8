"""The simulation calendar: month 1 is the scenario's start month; month 0 is the state
just before it (the roster's figures, end of the previous month)."""

from __future__ import annotations


def ordinal(year_month: str) -> int:
    year, month = year_month.split("-")
    return int(year) * 12 + int(month) - 1


def month_index(year_month: str, start: str) -> int:
    """The simulation month of a calendar month ("2026-02" is month 2 when start is "2026-01")."""
    return ordinal(year_month) - ordinal(start) + 1


def month_label(month: int, start: str) -> str:
    """The calendar month ("YYYY-MM") of simulation month `month`."""
    number = ordinal(start) + month - 1
    return f"{number // 12:04d}-{number % 12 + 1:02d}"
