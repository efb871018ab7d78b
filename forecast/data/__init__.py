"""Runs tables and the bundled datasets: reading, validating and combining data.

* :mod:`forecast.data.runs`: load and validate a runs table (:func:`load_runs`).
* :mod:`forecast.data._read`: the CSV parsing half of it, locating every problem by line.
* :mod:`forecast.data.catalog`: the bundled datasets under ``forecast/_data/<name>/``.
* :mod:`forecast.data.published_models`: tables of published models (date, N, D).
* :mod:`forecast.data.joint`: the joint design, small runs plus published model families.
"""
