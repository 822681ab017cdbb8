"""The dashboard's live plots: read from arrays that match the tables, redrawn in place
(the same figures, no artists piling up, a pasted background that matches a full drawing),
drawn once per batch while playing, and a distance panel whose view stops near the line."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from helpers import KIMI_FORCED, small
from PIL import Image

from sim.dashboard import app
from sim.dashboard.plots import CLIP_BELOW, PLOTS, LivePlots, until_exit
from sim.dashboard.session import LiveRun

SIZE = {"run.users": 2000, "run.months": 4, "run.startups": 2000}


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)


@pytest.fixture(scope="module")
def forced() -> LiveRun:
    """Kimi past the line from its first month: it crosses, collapses and leaves."""
    live = LiveRun(small("sprint_race", {**SIZE, **KIMI_FORCED}))
    live.step(live.horizon)
    return live


def test_the_snapshot_holds_the_tables_as_arrays(forced):
    snapshot = forced.snapshot()
    firms = forced.tables()["firms"]
    ids = list(snapshot.firms)
    for column, values in snapshot.series.items():
        wide = firms.pivot(index="month", columns="firm", values=column)[ids].to_numpy()
        assert values.shape == (forced.month + 1, len(ids))
        if column == "status":
            assert (values == wide).all()
        else:
            np.testing.assert_allclose(values.astype(float), wide.astype(float))
    moved = forced.tables()["migration"].groupby(["from", "to"])["users_m"].sum()
    axis = [*ids, "none"]
    for (source, target), users in moved.items():
        assert snapshot.moved_m[axis.index(source), axis.index(target)] == pytest.approx(users)
    assert snapshot.moved_m.sum() == pytest.approx(moved.sum())


def test_the_plots_are_redrawn_in_place_and_match_a_full_drawing():
    live = LiveRun(small("sprint_race", SIZE))
    plots = LivePlots(live)
    figures = dict(plots.figures)
    first = plots.draw(live.snapshot())
    counts = None
    for month in (1, 2, 3):
        live.step(1)
        drawn = plots.draw(live.snapshot())
        assert plots.figures == figures  # the same figure objects
        children = [len(ax.get_children()) for f in figures.values() for ax in f.axes]
        assert counts is None or children == counts, f"artists piled up at month {month}"
        counts = children
    assert all(drawn[name] != first[name] for name in PLOTS)
    # most redraws paste the background rather than draw every figure in full
    assert plots.backgrounds_drawn < plots.draws * len(PLOTS)
    # the pasted background is the one a full drawing gives now
    plots.stale.update(PLOTS)
    full = plots.draw(live.snapshot())
    for name in PLOTS:
        assert (pixels(drawn[name]) == pixels(full[name])).all(), name


def test_playing_redraws_once_per_batch_not_every_month():
    live = LiveRun(small("sprint_race", {**SIZE, "run.months": 7}))
    redrawn: list[int] = []
    app.play(live, lambda: redrawn.append(live.month), lambda: True, batch=3)
    assert live.done
    assert redrawn == [3, 6, 7]
    assert app.PLAY_BATCH_MONTHS > 1
    # a pause stops it at the next batch
    live.reset()
    calls = iter([True, False])
    app.play(live, lambda: redrawn.append(live.month), lambda: next(calls))
    assert live.month == app.PLAY_BATCH_MONTHS


def test_the_distance_panel_stops_near_the_line_and_marks_what_it_clips(forced):
    plots = LivePlots(forced)
    plots.draw(forced.snapshot())
    series = forced.snapshot().series
    distance = until_exit(series["distance_to_kill_line"], series["status"])
    kimi = plots.order.index("kimi")
    assert np.nanmin(distance) < CLIP_BELOW - 5  # a collapse falls far below the line
    low, high = plots.kill_axes[0].get_ylim()
    assert CLIP_BELOW - 0.5 <= low < CLIP_BELOW and high > 1
    for members, lines, edges, marks, clipped in plots.kill_panels:
        if kimi not in members:
            continue
        at = list(members).index(kimi)
        inside, edge = lines[at].get_ydata(), edges[at].get_ydata()
        shown = distance[:, plots.columns[kimi]]
        below = shown < CLIP_BELOW
        assert below.any() and clipped.get_visible()
        assert (edge[below] == CLIP_BELOW).all() and np.isnan(inside[below]).all()
        assert np.isnan(edge[~below]).all()
        offsets = {kind: points.get_offsets() for kind, points in marks.items()}
        assert len(offsets["crossed"]) == 1
        assert all(y >= CLIP_BELOW for points in offsets.values() for _, y in points)
    labels = [text.get_text() for text in plots.kill_key.get_texts()]
    assert "crossed the kill line" in labels
    exits = set(series["status"][-1])
    for kind in ("acquired", "pivoted", "closed"):
        assert (kind in labels) == (kind in exits)
    assert not math.isnan(plots.draw_seconds)
