"""Serving the dashboard (sim/dashboard/app.py) on 127.0.0.1 with Solara's server.

    serve("sprint_race", port=8765)        # blocks until Ctrl-C

The scenario and its overrides reach the page through two environment variables read by
the app, so the page is the same whether served here or by ``solara run
sim.dashboard.app``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from sim.dashboard.app import OVERRIDES_VARIABLE, SCENARIO_VARIABLE

HOST = "127.0.0.1"  # loopback only: the dashboard is for the person at this machine
APP = "sim.dashboard.app:Page"


def configure(scenario: str, overrides: Mapping[str, Any] | None = None) -> None:
    """Check the scenario now (a bad one is one line and exit code 2, not a broken page)
    and hand it to the app."""
    from sim.scenario import load_scenario

    load_scenario(scenario, overrides)
    os.environ[SCENARIO_VARIABLE] = str(scenario)
    os.environ[OVERRIDES_VARIABLE] = json.dumps(dict(overrides or {}))
    os.environ["SOLARA_APP"] = APP


def serve(scenario: str, *, port: int, overrides: Mapping[str, Any] | None = None) -> None:
    """Serve the dashboard on http://127.0.0.1:<port>/ until interrupted."""
    configure(scenario, overrides)
    import uvicorn

    print(f"killline dashboard: http://{HOST}:{port}/  (Ctrl-C to stop)", flush=True)
    uvicorn.run("solara.server.starlette:app", host=HOST, port=port, log_level="warning")
