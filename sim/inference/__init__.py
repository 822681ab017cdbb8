"""Calibration of the uncertain parameters to the 2024-25 history (``killline calibrate``).

One concept per module:

    settings     seeds/inference.toml: the calibration's size, seed and distance settings
    summaries    a run's simulated value of every fitted point of the observed panel
    distance     the weighted RMS of log errors between simulated and observed summaries
    evaluate     one model evaluation (a task of the executors), seeded by its place
    sampler      pyabc's sampler on the project's executors (proposals here, runs there)
    smc          the ABC-SMC fit on pyabc: priors, epsilon, its database, the posterior
    predictive   the posterior predictive runs, the fit tables and the exits
    output       the calibration's folder (posterior.toml, tables, plots, report)
    calibrate    the whole command as a function: fit, resume, predictive, folder

    from sim.inference.calibrate import calibrate
    from sim.inference.settings import load_settings
    result = calibrate(load_settings(), workers=2)
"""
