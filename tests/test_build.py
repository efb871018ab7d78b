from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pymc as pm
import pytest
from scipy import stats

from models.build import (
    POTENTIALS_IGNORED,
    STUDENT_T_NORMALISER,
    ModelData,
    build_model,
    centre_to_law,
    log_density,
    pointwise_log_likelihood,
    student_t_log_normaliser,
)
from models.errors import ConfigError
from models.laws import LAWS
from models.priors import PriorSpec, resolve_priors


def _data(groups=("a", "b"), log_U=None):
    gen = np.random.default_rng(0)
    n = 12
    log_N = np.log(np.geomspace(1e7, 1e9, n))
    log_D = log_N + np.log(20)
    return ModelData(
        log_N=log_N,
        log_D=log_D,
        log_loss=np.log(3.0 + gen.normal(0, 0.01, n)),
        group_idx=np.arange(n) % len(groups),
        groups=groups,
        log_U=log_U,
    )


def _start(model):
    """The point chains start from (before jitter), as the samplers are given it."""
    from pymc.initial_point import make_initial_point_fn

    from models.build import initial_values

    return make_initial_point_fn(
        model=model, overrides=initial_values(model), return_transformed=True
    )(0)


def test_centred_intercept_keeps_the_preset_prior_exactly():
    """Prior draws of log_A must follow the preset's prior on log_A, not a shifted one."""
    priors = resolve_priors("besiroglu2024", "chinchilla")
    model = build_model(_data(), law="chinchilla", priors=priors, parametrisation="plain")
    with model:
        prior = pm.sample_prior_predictive(draws=4000, random_seed=1).prior
    spec = priors["log_A"]
    assert float(prior["log_A"].mean()) == pytest.approx(spec.params["mu"], abs=0.03)
    assert float(prior["log_A"].std()) == pytest.approx(spec.params["sigma"], rel=0.05)
    # and independent of alpha, as the preset says
    corr = np.corrcoef(prior["log_A"].values.ravel(), prior["alpha"].values.ravel())[0, 1]
    assert abs(corr) < 0.05


def test_a_prior_at_a_reference_scale_is_on_the_term_there():
    """A log_A prior with a reference is on log A - alpha log N_ref, independent of alpha."""
    base = resolve_priors("besiroglu2024", "chinchilla")
    spec = PriorSpec("Normal", {"mu": -1.0, "sigma": 0.3}, "test", reference=1e9)
    priors = {**base, "log_A": spec}
    model = build_model(_data(), law="chinchilla", priors=priors, parametrisation="plain")
    with model:
        prior = pm.sample_prior_predictive(draws=4000, random_seed=2).prior
    alpha = prior["alpha"].values.ravel()
    at_ref = prior["log_A"].values.ravel() - alpha * np.log(1e9)
    assert at_ref.mean() == pytest.approx(-1.0, abs=0.02)
    assert at_ref.std() == pytest.approx(0.3, rel=0.05)
    assert abs(np.corrcoef(at_ref, alpha)[0, 1]) < 0.05
    # log A itself now moves with alpha (slope log 1e9 = 20.7)
    assert np.corrcoef(prior["log_A"].values.ravel(), alpha)[0, 1] > 0.5
    # the centre parametrisation carries the same density (its log_prior__log_A_c term)
    centre = build_model(_data(groups=("only",)), law="chinchilla", priors=priors)
    names = ["log_prior__log_A_c", "log_A", "alpha"]
    outs = centre.replace_rvs_by_values([centre[n] for n in names])
    fn = centre.compile_fn(outs, inputs=centre.value_vars, on_unused_input="ignore")
    values = fn(centre.initial_point())
    term, log_A, a = (float(v) for v in values)
    assert term == pytest.approx(stats.norm.logpdf(log_A - a * np.log(1e9), -1.0, 0.3), rel=1e-9)
    with pytest.raises(ConfigError, match="not a log coefficient"):
        odd = PriorSpec("LogNormal", {"mu": -1.0, "sigma": 0.1}, reference=1e9)
        build_model(_data(), law="chinchilla", priors={**base, "alpha": odd})


def test_free_variables_are_non_centred_but_the_floors():
    model = build_model(_data(), law="chinchilla", priors=resolve_priors("weak", "chinchilla"))
    names = {v.name for v in model.free_RVs}
    assert {"z_alpha", "offset_E", "sigma_alpha", "centre_log_loss", "alpha"} <= names
    assert "z_E" not in names  # floors' offsets are centred with the centre parametrisation
    plain = build_model(
        _data(),
        law="chinchilla",
        priors=resolve_priors("weak", "chinchilla"),
        parametrisation="plain",
    )
    assert {"z_E", "z_alpha"} <= {v.name for v in plain.free_RVs}
    assert "alpha_group" not in names  # a deterministic of z, not a sampled centred variable
    assert {v.name for v in model.deterministics} >= {
        "alpha_group",
        "log_A",
        "E_group",
        "E",
        "log_A_c",
    }


def test_one_group_has_no_free_offsets():
    model = build_model(
        _data(groups=("only",)), law="chinchilla", priors=resolve_priors("weak", "chinchilla")
    )
    names = {v.name for v in model.free_RVs}
    # nothing to pool: no offsets and no between-group scales sampled from their priors
    assert not {n for n in names if n.startswith(("z_", "sigma_"))}
    assert names == {"centre_log_loss", "floor_logit", "split_logit", "alpha", "beta", "sigma"}
    plain = build_model(
        _data(groups=("only",)),
        law="chinchilla",
        priors=resolve_priors("weak", "chinchilla"),
        parametrisation="plain",
    )
    assert {v.name for v in plain.free_RVs} == {"E", "alpha", "beta", "log_A_c", "log_B_c", "sigma"}


def test_unpooled_parameters_are_shared():
    model = build_model(
        _data(), law="chinchilla", priors=resolve_priors("weak", "chinchilla"), pooled=("E",)
    )
    names = {v.name for v in model.free_RVs}
    assert "offset_E" in names and "z_alpha" not in names and "alpha" in names


def test_student_t_needs_nu_and_log_scale_needs_location_family():
    priors = resolve_priors("weak", "chinchilla", likelihood="student_t")
    with pytest.raises(ConfigError, match="nu"):
        build_model(
            _data(),
            law="chinchilla",
            priors=resolve_priors("weak", "chinchilla"),
            likelihood="student_t",
        )
    model = build_model(_data(), law="chinchilla", priors=priors, likelihood="student_t")
    assert "nu" in {v.name for v in model.free_RVs}
    bad = dict(priors)
    bad["log_A"] = PriorSpec("HalfNormal", {"sigma": 5.0})
    with pytest.raises(ConfigError, match="log_A"):
        build_model(_data(), law="chinchilla", priors=bad)


def test_data_constrained_needs_unique_tokens():
    priors = resolve_priors("muennighoff2023", "data_constrained")
    with pytest.raises(ConfigError, match="unique_tokens"):
        build_model(_data(), law="data_constrained", priors=priors)
    d = _data()
    model = build_model(_data(log_U=d.log_D - np.log(4)), law="data_constrained", priors=priors)
    logp = model.compile_logp()(_start(model))
    assert np.isfinite(logp)


@pytest.mark.parametrize("law", sorted(LAWS))
def test_every_law_builds_with_finite_logp(law):
    d = _data()
    d = ModelData(**{**d.__dict__, "log_U": d.log_D})
    model = build_model(d, law=law, priors=resolve_priors("weak", law))
    assert np.isfinite(model.compile_logp()(_start(model)))


def test_log_density_is_the_normal_and_student_t_log_pdf():
    from scipy import stats

    gen = np.random.default_rng(3)
    y, mean, sd, nu = gen.normal(size=40), gen.normal(size=40), gen.uniform(0.01, 1, 40), None
    np.testing.assert_allclose(
        log_density(y, mean, sd), stats.norm.logpdf(y, mean, sd), rtol=0, atol=1e-12
    )
    nu = gen.uniform(1.5, 40, 40)
    np.testing.assert_allclose(
        log_density(y, mean, sd, nu), stats.t.logpdf(y, nu, mean, sd), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(
    ("law", "likelihood", "discrepancy", "with_sd", "preset"),
    [
        ("chinchilla", "normal", None, False, "weak"),
        ("chinchilla", "student_t", "compute", True, "besiroglu2024"),
        ("data_constrained", "normal", "compute", False, "muennighoff2023"),
        ("kaplan_floor", "student_t", None, True, "kaplan2020"),
        ("chinchilla_broken", "student_t", "compute", False, "hoffmann2022"),
    ],
)
def test_numpy_log_likelihood_equals_pymc_on_prior_draws(
    law, likelihood, discrepancy, with_sd, preset
):
    """fit stores pointwise_log_likelihood instead of compiling PyMC's; they must agree."""
    data = _data(groups=("a", "b", "c"), log_U=np.log(np.geomspace(5e8, 5e9, 12)))
    if with_sd:
        data = ModelData(**{**data.__dict__, "rel_sd": np.linspace(0.0, 0.02, 12)})
    priors = resolve_priors(preset, law, likelihood=likelihood)
    model = build_model(
        data,
        law=law,
        priors=priors,
        likelihood=likelihood,
        discrepancy=discrepancy,
        parametrisation="plain",
    )
    with model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=POTENTIALS_IGNORED, category=UserWarning)
        prior = pm.sample_prior_predictive(draws=60, random_seed=2).prior
    ref = (
        pm.compute_log_likelihood(
            az.InferenceData(posterior=prior),
            model=model,
            extend_inferencedata=False,
            progressbar=False,
        )["log_loss"]
        .transpose("chain", "draw", ...)
        .values
    )
    draws = {name: prior[name].transpose("chain", "draw", ...).values for name in prior.data_vars}
    if likelihood == "student_t":  # the model adds the normaliser once, as a potential
        ref = ref + student_t_log_normaliser(draws["nu"])[..., None]
        point = model.initial_point()
        potential, nu = model.compile_fn(
            [model[STUDENT_T_NORMALISER], model["nu"]],
            inputs=model.value_vars,
            on_unused_input="ignore",
        )(point)
        assert potential == pytest.approx(12 * student_t_log_normaliser(nu), rel=1e-12)
    ours = pointwise_log_likelihood(
        data, draws, law=law, likelihood=likelihood, discrepancy=discrepancy
    )
    finite = np.isfinite(ref)
    assert finite.mean() > 0.9  # prior draws can overflow; compare where PyMC is finite
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------- the centre parametrisation


def test_centre_coordinates_map_to_the_law_with_the_stated_jacobian():
    """log|det J| of centre_to_law equals log E (finite differences); L_c is kept."""
    gen = np.random.default_rng(4)
    for _ in range(20):
        phi = gen.normal([1.0, 0.0, 0.0], [0.5, 2.0, 2.0])

        def theta(x):
            p, _ = centre_to_law(*x)
            return np.array([p["E"], p["log_A_c"], p["log_B_c"]])

        h = 1e-6
        jac = np.column_stack(
            [(theta(phi + h * e) - theta(phi - h * e)) / (2 * h) for e in np.eye(3)]
        )
        params, log_jac = centre_to_law(*phi)
        assert np.linalg.slogdet(jac)[1] == pytest.approx(float(log_jac), abs=1e-6)
        centre_loss = params["E"] + np.exp(params["log_A_c"]) + np.exp(params["log_B_c"])
        assert np.log(centre_loss) == pytest.approx(phi[0], abs=1e-12)


def _centre_and_plain_logp(data, priors, law="chinchilla", **options):
    """Log densities (value transforms removed, no Jacobian) of the two parametrisations."""
    from pymc.model.transform.conditioning import remove_value_transforms

    out = []
    for parametrisation in ("centre", "plain"):
        model = build_model(
            data, law=law, priors=priors, parametrisation=parametrisation, **options
        )
        out.append(remove_value_transforms(model).compile_logp(jacobian=False))
    return tuple(out)


def _random_centre_coords(gen):
    return {
        "centre_log_loss": np.array(gen.normal(1.0, 1.0)),
        "floor_logit": np.array(gen.normal(0.0, 1.5)),
        "split_logit": np.array(gen.normal(0.0, 1.5)),
    }


@pytest.mark.parametrize(
    "preset, law",
    [("weak", "chinchilla"), ("besiroglu2024", "chinchilla"), ("weak", "chinchilla_broken")],
)
def test_centre_density_is_the_plain_density_plus_the_jacobian(preset, law):
    """Same prior, same likelihood: the two parametrisations differ only by log|det J|.

    For the broken law the centre coordinates give the terms at the data centre, breaks
    included; the plain model's centred coefficients are those minus the break factors.
    """
    priors = resolve_priors(preset, law)
    data = _data(groups=("only",))
    centre_logp, plain_logp = _centre_and_plain_logp(data, priors, law)
    gen = np.random.default_rng(5)
    largest_factor = 0.0
    for _ in range(30):
        coords = _random_centre_coords(gen)
        shared = {
            "alpha": np.array(gen.uniform(0.05, 1.2)),
            "beta": np.array(gen.uniform(0.05, 1.2)),
            "sigma": np.array([np.exp(gen.normal(-4.0, 1.0))]),
        }
        values, _ = centre_to_law(*coords.values())
        if law == "chinchilla_broken":
            shared |= {f"{p}_ratio": np.array(gen.lognormal(0.0, 0.4)) for p in ("alpha", "beta")}
            shared |= {f"log_{x}_break_c": np.array(gen.normal(0.0, 3.0)) for x in "ND"}
            breaks = {f"log_{x}_break": shared[f"log_{x}_break_c"] + data.centres[f"log_{x}"]
                      for x in "ND"}  # fmt: skip
            factors = LAWS[law].centre_log_factors(shared | breaks, data.centres)
            largest_factor = max(largest_factor, *(abs(f) for f in factors.values()))
            values = values | {f"{c}_c": values[f"{c}_c"] - factors[c] for c in factors}
        expected = plain_logp({**values, **shared}) + np.log(values["E"])
        sampled = dict(shared)
        if law == "chinchilla_broken":
            # the exponents through the logs of their local slopes: Jacobian alpha * beta
            m = LAWS[law].centre_slope_factors(shared | breaks, data.centres)
            for e in ("alpha", "beta"):
                sampled[f"{e}_log_slope"] = np.log(sampled.pop(e) * m[e])
                expected += np.log(shared[e])
        assert centre_logp({**coords, **sampled}) == pytest.approx(expected, rel=1e-9, abs=1e-8)
    assert largest_factor > 0.5 or law == "chinchilla"  # the breaks mattered at some points


def test_centred_offsets_keep_the_hierarchical_density():
    r"""Three groups, floor and coefficients pooled: the change of variables, exactly.

    The centre parametrisation samples the floors' group offsets centred,
    :math:`\delta = \sigma_E z`, and the coefficients' partially centred,
    :math:`\eta = \sigma^{w} z` (:data:`models.build.OFFSET_CENTRING`). With value
    transforms removed the two models' densities at corresponding points differ by the
    centre map's log E and :math:`-(G-1)\sum_\theta w_\theta \log\sigma_\theta`.
    """
    from models.build import OFFSET_CENTRING

    groups = ("a", "b", "c")
    data = _data(groups=groups)
    priors = resolve_priors("weak", "chinchilla")
    pooled = ("E", "log_A", "log_B")
    assert OFFSET_CENTRING["E"] == 1.0 and 0 < OFFSET_CENTRING["log_A"] < 1
    centre_logp, plain_logp = _centre_and_plain_logp(data, priors, pooled=pooled)
    gen = np.random.default_rng(6)
    for _ in range(20):
        coords = _random_centre_coords(gen)
        z = {name: gen.normal(size=3) for name in pooled}
        z = {name: v - v.mean() for name, v in z.items()}  # zero-sum
        shared = {
            "alpha": np.array(gen.uniform(0.05, 1.2)),
            "beta": np.array(gen.uniform(0.05, 1.2)),
            "sigma": np.exp(gen.normal(-4.0, 1.0, 3)),
            **{f"sigma_{name}": np.array(np.exp(gen.normal(-1.5, 0.5))) for name in pooled},
        }
        values, _ = centre_to_law(*coords.values())
        sampled = {"offset_E": shared["sigma_E"] * z["E"]}
        jacobian = 0.0
        for name in ("log_A", "log_B"):
            weight = OFFSET_CENTRING[name]
            sampled[f"eta_{name}"] = shared[f"sigma_{name}"] ** weight * z[name]
            jacobian += weight * np.log(shared[f"sigma_{name}"])
        expected = (
            plain_logp({**values, **shared, **{f"z_{name}": z[name] for name in pooled}})
            + np.log(values["E"])
            - (len(groups) - 1) * (np.log(shared["sigma_E"]) + jacobian)
        )
        got = centre_logp({**coords, **shared, **sampled})
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-8)


@pytest.mark.slow
def test_centre_parametrisation_keeps_the_prior_of_the_plain_one():
    """Sampled with an uninformative likelihood, the centre model draws the preset's prior.

    A known measurement SD of 1e3 (relative) makes the likelihood flat, so NUTS on the
    centre parametrisation samples its prior; it must match forward draws of the plain
    parametrisation (the prior-predictive path) quantile by quantile.
    """
    import nutpie

    from models.build import initial_values

    d = _data(groups=("only",))
    d = ModelData(**{**d.__dict__, "rel_sd": np.full(d.log_loss.size, 1e3)})
    priors = resolve_priors("hoffmann2022", "chinchilla")
    centre = build_model(d, law="chinchilla", priors=priors)
    compiled = nutpie.compile_pymc_model(centre, initial_points=initial_values(centre))
    draws = nutpie.sample(
        compiled, draws=3000, tune=1000, chains=2, seed=3, progress_bar=False
    ).posterior
    plain = build_model(d, law="chinchilla", priors=priors, parametrisation="plain")
    with plain:
        forward = pm.sample_prior_predictive(draws=20000, random_seed=3).prior
    for name in ("E", "alpha", "beta", "log_A", "log_B"):
        ours = draws[name].values.ravel()
        ref = forward[name].values.ravel()
        sd = ref.std()
        for q in (0.05, 0.25, 0.5, 0.75, 0.95):
            assert np.quantile(ours, q) == pytest.approx(np.quantile(ref, q), abs=0.1 * sd), (
                name,
                q,
            )
