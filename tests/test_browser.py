"""The dashboard end to end: `killline dashboard` serves it on loopback, headless Chromium
(Debian's `chromium`, driven by Playwright) loads it, changes a parameter, resets, steps,
and the screenshots show the plots drawn and changed."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--set", "run.users=2000", "--set", "run.months=6", "--set", "run.startups=2000"]
LOAD_SECONDS = 180  # a bound on waiting, not a speed check: the page's first draw

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="needs Debian's chromium (.ci/run installs it)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(tmp_path: Path):
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "dashboard", "sprint_race", "--port", str(port), *ARGS],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + LOAD_SECONDS
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert server.poll() is None, (tmp_path / "server.log").read_text()
        time.sleep(0.3)
    yield f"http://127.0.0.1:{port}/"
    server.terminate()
    server.wait(timeout=30)
    log.close()


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


def test_the_dashboard_draws_and_changes_in_a_browser(served, tmp_path):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "chromium is missing: .ci/run installs it with apt-get"
    timeout = LOAD_SECONDS * 1000
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(served)
        page.get_by_text("Month 0 of 6").wait_for(timeout=timeout)
        page.wait_for_selector("img", timeout=timeout)
        plots = page.locator("img")
        assert plots.count() >= 5
        widths = [plots.nth(i).evaluate("image => image.naturalWidth") for i in range(5)]
        assert min(widths) > 0
        before = page.screenshot()
        (tmp_path / "before.png").write_bytes(before)

        # a parameter: the kill line's runway threshold, clicked near the top of its range
        sliders = page.get_by_role("slider")
        assert sliders.count() >= 7
        sliders.nth(6).focus()
        page.keyboard.press("End")
        page.get_by_text("press Reset").wait_for(timeout=timeout)
        page.get_by_role("button", name="Reset").click()
        # rebuilt at month 0 with the slider's top value
        page.get_by_text("kill line at 24 months").wait_for(timeout=timeout)
        assert page.get_by_text("Month 0 of 6").count() == 1
        for month in (1, 2, 3):
            page.get_by_role("button", name="Step").click()
            page.get_by_text(f"Month {month} of 6").wait_for(timeout=timeout)
        time.sleep(1.0)  # the last images land after the heading
        after = page.screenshot()
        (tmp_path / "after.png").write_bytes(after)
        browser.close()

    first, last = pixels(before), pixels(after)
    # the plots are drawn: the page is far from blank
    assert first.std() > 20 and last.std() > 20
    # and they changed: a visible share of the page differs
    changed = np.abs(first - last) > 30
    assert changed.mean() > 0.02
