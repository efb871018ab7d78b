"""Small training runs and published families of large models in one runs table.

Small runs alone cannot pin the exponents at 10T scale (they span one to two decades of
N); large-model families alone have few points and their own tokenizers and eval sets. The
joint table gives every (dataset, corpus) its own group, so the hierarchical model pools
the exponents across groups while each group keeps its own floor and coefficients (the
floor is the entropy of *that* eval text under *that* tokenizer).

Checkpoints. A late checkpoint of a long run is not the final loss of a shorter run: the
learning-rate schedule has not finished. By default only the last checkpoint of each run
is kept (``min_checkpoint_fraction=None``); pass a fraction (e.g. 0.7) to keep every
checkpoint after that share of the run's planned tokens, knowingly.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from forecast.data.catalog import load_dataset
from forecast.errors import ConfigError

#: Small-run sources: dataset -> (eval set used, column that splits it into groups or None).
SMALL_RUNS: Mapping[str, tuple[str, str | None]] = {
    "gadre2024": ("c4_val", "corpus"),
    "olmo_ladder": ("c4_en", None),
}
#: ``FitConfig(pooled=...)`` of the joint design: each group has its own floor E and
#: coefficients (log A, log B), partially pooled, and all groups share the exponents alpha
#: and beta, the law's shape. With every parameter pooled, the Gadre floors' differences
#: overlapped zero; with the exponents shared they are distinct (tests/test_acceptance.py).
SHARED_EXPONENTS_POOLED: tuple[str, ...] = ("E", "log_A", "log_B")
#: Published large-model families: dataset -> eval set (one per family).
FRONTIER_FAMILIES: Mapping[str, str] = {
    "gpt3": "gpt3_val",
    "opt": "opt_val",
    "olmo1": "c4_en_v2_small",
}


def select_checkpoints(runs: pd.DataFrame, *, min_fraction: float | None = None) -> pd.DataFrame:
    """Keep end-of-training points, or every checkpoint past a fraction of the run.

    Parameters
    ----------
    runs : pandas.DataFrame
        Runs table; tables without ``checkpoint_fraction`` are returned unchanged.
    min_fraction : float, optional
        ``None`` keeps the last checkpoint of each ``run_id``; a number in (0, 1] keeps
        checkpoints whose ``checkpoint_fraction`` is at least that.

    Returns
    -------
    pandas.DataFrame
        The selected rows, with a fresh index.

    Raises
    ------
    ConfigError
        ``min_fraction`` outside (0, 1].

    Examples
    --------
    >>> from forecast import load_dataset
    >>> ladder = load_dataset("olmo_ladder")
    >>> final = select_checkpoints(ladder[ladder.eval_set == "c4_en"])
    >>> int(final["run_id"].nunique()) == len(final)
    True
    """
    if "checkpoint_fraction" not in runs:
        return runs.reset_index(drop=True)
    if min_fraction is not None:
        if not 0 < min_fraction <= 1:
            raise ConfigError(f"min_fraction must be in (0, 1], got {min_fraction!r}")
        return runs[runs["checkpoint_fraction"] >= min_fraction].reset_index(drop=True)
    key = runs["run_id"] if "run_id" in runs else runs["N"].astype(str)
    last = runs.groupby(key, sort=False)["checkpoint_fraction"].transform("max")
    return runs[runs["checkpoint_fraction"] == last].reset_index(drop=True)


def _labelled(table: pd.DataFrame, dataset: str, split: str | None) -> pd.DataFrame:
    out = table.copy()
    out["dataset"] = dataset
    out["group"] = dataset if split is None else dataset + ":" + out[split].astype(str)
    return out


def joint_runs(
    *,
    small: Mapping[str, tuple[str, str | None]] = SMALL_RUNS,
    frontier: Mapping[str, str] = FRONTIER_FAMILIES,
    min_checkpoint_fraction: float | None = None,
) -> pd.DataFrame:
    """Build one runs table of small-run groups and large-model families.

    Parameters
    ----------
    small : mapping
        Small-run datasets: name -> (eval set, column splitting it into groups or None).
    frontier : mapping
        Frontier families: name -> eval set.
    min_checkpoint_fraction : float, optional
        Checkpoint selection, see :func:`select_checkpoints` (default: last checkpoint).

    Returns
    -------
    pandas.DataFrame
        The tidy runs schema plus ``dataset`` and ``group`` (``"gadre2024:c4"``,
        ``"olmo_ladder"``, ``"gpt3"`` …); fit it with ``groups="group"``.

    Raises
    ------
    ConfigError
        An eval set that a dataset does not have.

    Examples
    --------
    >>> runs = joint_runs()
    >>> sorted(runs["group"].unique())[:2]
    ['gadre2024:c4', 'gadre2024:redpajama']
    """
    parts = []
    sources = [(n, e, s) for n, (e, s) in small.items()] + [
        (n, e, None) for n, e in frontier.items()
    ]
    for name, eval_set, split in sources:
        table = load_dataset(name)
        if "eval_set" in table:
            if eval_set not in set(table["eval_set"]):
                raise ConfigError(
                    f"dataset {name!r} has no eval set {eval_set!r}; it has "
                    f"{sorted(table['eval_set'].unique())}"
                )
            table = table[table["eval_set"] == eval_set]
        table = select_checkpoints(table, min_fraction=min_checkpoint_fraction)
        parts.append(_labelled(table, name, split))
    joint = pd.concat(parts, ignore_index=True, sort=False)
    # Optional columns must be complete or absent: a missing measurement SD means none is
    # known (0); other partly-known numeric columns are dropped from the joint table.
    if "loss_sd" in joint:
        joint["loss_sd"] = joint["loss_sd"].fillna(0.0)
    partial = [
        c
        for c in ("N_non_embedding", "C", "checkpoint_fraction", "unique_tokens")
        if c in joint and joint[c].isna().any()
    ]
    joint = joint.drop(columns=partial)
    text = [
        c
        for c in joint.columns
        if joint[c].dtype == object or pd.api.types.is_string_dtype(joint[c])
    ]
    joint[text] = joint[text].fillna("")
    return joint
