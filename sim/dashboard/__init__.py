"""The dashboard: move a control, step the market, watch it react (Solara, in the browser).

* sim/dashboard/controls.py: the parameters the dashboard exposes and how they change a
  scenario;
* sim/dashboard/session.py: a live run, stepped month by month, with its tables so far
  and the same records as arrays;
* sim/dashboard/plots.py: the five live plots, built once per run and redrawn in place;
* sim/dashboard/app.py: the Solara page (inputs, play / step / reset, live plots);
* sim/dashboard/server.py: serving the page on 127.0.0.1 (``killline dashboard``).

Importing the package loads nothing; the CLI imports ``server`` only when it runs.
"""
