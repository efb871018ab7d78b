"""Studies: many fits of one question, each returning an ``xr.Dataset`` of its findings.

* :mod:`forecast.studies.backtest`: fit on small runs, score the forecast of held-out large
  ones; :mod:`forecast.studies.baseline` holds the point-fit baselines it compares against.
* :mod:`forecast.studies.stacking`: fit several laws and average them by stacking weights.
* :mod:`forecast.studies.simulate`: simulated runs from the prior, ladders and SBC.
* :mod:`forecast.studies.design`: which run to train next, and the update once it is in.
* :mod:`forecast.studies.sensitivity`: refit over a grid of choices and rank their effects;
  :mod:`forecast.studies.sensitivity_plan` reads the study file and plans its tasks.
"""
