"""Plots, drawn from tables (never from a result object or the model).

* sim/plots/style.py: the tier order, palette, firm order and colours, figures, date axes;
* sim/plots/run.py: the six plots of one run and ``save_run_plots``;
* sim/plots/market.py: the market-wide plots of one run;
* sim/plots/ensemble.py: fan charts, survival curves, exit months and kinds;
* sim/plots/analysis.py: sweep, Morris and Sobol charts.

Import the module you need (``from sim.plots.run import save_run_plots``); importing the
package itself loads nothing.
"""
