"""make_predictor with composed galaxy-halo models (shaminfer.galaxy_halo) on the small test universe: red and blue
weights add up to the total, the exact statistics of a red sample are the mean of Monte Carlo realizations (masses,
quenching and survival drawn per subhalo), exact gradients in all 24 parameters against central differences, the
refusals (colours without quenching, unknown colours, the tabulated engine, model with net), and the cost of the
gradient counted in pair passes (independent of the number of parameters)."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

from shaminfer.catalogs import small_test_universe
from shaminfer.galaxy_halo import bind_catalog, compose, disruption, parametric, quenching, sham, stellar_mass_offset
from shaminfer.ingredients import triweight_bin_prob
from shaminfer.stats import (
    check_config,
    kernel_variates,
    make_config,
    make_predictor,
    montecarlo_evaluator,
    threshold_sample,
)
from shaminfer.stats import clustering
from shaminfer.stats.lensing import merge_annuli
from shaminfer.stats.predict import population_factor, sample_weights

from .standin import THETA0, standin_smhm

SMF_EDGES = np.linspace(9.5, 11.5, 11)
RP_EDGES = np.logspace(-0.7, np.log10(8.0), 8)


@pytest.fixture(scope="module")
def catalog():
    return small_test_universe(seed=0)


@pytest.fixture(scope="module")
def model():
    return compose(parametric(), quenching(), disruption(), stellar_mass_offset())


@pytest.fixture(scope="module")
def theta(model):
    # away from the defaults in every block
    return model.defaults(logsm_0=10.05, sigma_hi=0.22, dlogsm=0.03, fq_cen_x0=12.3, fq_sat_hi=0.65, dis_x0=0.55,
                          dis_k=12.0)


@pytest.fixture(scope="module")
def config():
    """SMF of all, red and blue galaxies; w_p and Delta Sigma (the catalog's bins) of the all / red / blue samples."""
    return make_config(smf_edges=SMF_EDGES, smf_colors=("red", "blue"),
                       samples=(threshold_sample(10.3), threshold_sample(10.3, color="red"),
                                threshold_sample(10.3, color="blue")),
                       rp_edges=RP_EDGES, pi_max=15.0)


@pytest.fixture(scope="module")
def predictor(catalog, config, model):
    return jax.jit(make_predictor(catalog, config, model=model))


@pytest.fixture(scope="module")
def exact(catalog, config, model, theta):
    return make_predictor(catalog, config, model=model)(theta)  # a concrete call: the shell checks run


@pytest.fixture(scope="module")
def population(catalog, model, theta):
    return model.population(theta, bind_catalog(model, catalog))


# --- red + blue = all -----------------------------------------------------------------------------------------
def test_red_and_blue_add_up_to_the_total(exact, predictor, theta, config, population):
    assert exact.smf.shape == (10,) and exact.smf_color.shape == (2, 10)
    assert exact.wp.shape == (3, 7) and exact.delta_sigma.shape == (3, 15)
    np.testing.assert_allclose(exact.smf_color[0] + exact.smf_color[1], exact.smf, rtol=1e-12)
    assert np.all(exact.smf_color > 0)
    for a, b in zip(predictor(theta), exact):  # jit gives the same numbers
        np.testing.assert_allclose(a, b, rtol=1e-12)
    pop = population
    w = sample_weights(pop.mu, pop.sigma, config.samples)
    w_all, w_red, w_blue = (np.asarray(w[k] * population_factor(pop, s.color)) for k, s in enumerate(config.samples))
    np.testing.assert_allclose(w_red + w_blue, w_all, rtol=1e-12, atol=1e-300)
    assert 0.2 < w_red.sum() / w_all.sum() < 0.8  # both colours are well populated
    # and the survival factor really enters: "all" is not the bare triweight weight
    assert w_all.sum() < 0.99 * float(np.sum(w[0]))


def test_delta_sigma_of_all_lies_between_red_and_blue(exact, catalog, config, population):
    # Eq. 11 is a weighted mean and the red and blue weights add up to the total one, so the stack of all galaxies
    # is a convex combination of the red and blue stacks in every bin (w_p is not: DD is quadratic in the weights)
    ds_all, ds_red, ds_blue = np.asarray(exact.delta_sigma)
    lo, hi = np.minimum(ds_red, ds_blue), np.maximum(ds_red, ds_blue)
    assert np.all((ds_all >= lo) & (ds_all <= hi))
    assert np.all(ds_red > ds_blue)  # red galaxies live in more massive haloes here
    # each colour's stack by hand, from the weights and the catalog's profiles
    pop = population
    lens = catalog.lensing
    prof = merge_annuli(lens.delta_sigma, lens.rbins, lens.rbins)
    for k, s in enumerate(config.samples):
        w = np.asarray(sample_weights(pop.mu, pop.sigma, (s,))[0] * population_factor(pop, s.color))[lens.index]
        np.testing.assert_allclose(exact.delta_sigma[k], w @ prof / w.sum(), rtol=1e-12)
    # the red fraction weights the mix: ds_all = f ds_red + (1 - f) ds_blue with one f for every bin
    f = (ds_all - ds_blue) / (ds_red - ds_blue)
    np.testing.assert_allclose(f, f[0], rtol=1e-10)


# --- exact = Monte Carlo mean ---------------------------------------------------------------------------------
def test_exact_red_statistics_are_the_monte_carlo_mean(catalog, model, theta, population):
    thr = 10.3
    cfg = make_config(smf_edges=SMF_EDGES, smf_colors=("red", "blue"), samples=(threshold_sample(thr, color="red"),),
                      rp_edges=RP_EDGES, pi_max=15.0, ds_rbins=catalog.lensing.rbins[::2])
    ex = make_predictor(catalog, cfg, model=model)(theta)
    pop = population
    mu, sigma, p_q, p_s = (np.asarray(a, dtype=np.float64) for a in (pop.mu, pop.sigma, pop.quenched, pop.survive))
    w_red = np.asarray(sample_weights(pop.mu, pop.sigma, cfg.samples)[0] * population_factor(pop, "red"))
    # the evaluator applies the hard mass cuts of one realization; galaxies that are not red survivors get a mass
    # below every bin and threshold
    evaluate = montecarlo_evaluator(catalog, cfg)
    rng = np.random.default_rng(20240611)
    vol = catalog.box_size**3
    width = np.diff(SMF_EDGES)
    nreal = 1000
    smf_red, smf_blue, n_red, wp, ds = [], [], [], [], []
    for _ in range(nreal):
        logsm = mu + sigma * kernel_variates(rng, mu.size)
        alive = rng.random(mu.size) < p_s
        quenched = rng.random(mu.size) < p_q
        red = alive & quenched
        one = evaluate(np.where(red, logsm, 0.0))
        smf_red.append(one.smf)
        smf_blue.append(np.histogram(logsm[alive & ~quenched], bins=SMF_EDGES)[0] / (width * vol))
        n_red.append(np.sum(red & (logsm >= thr)) / vol)
        wp.append(one.wp[0])
        ds.append(one.delta_sigma[0])
    checks = dict(smf_red=(smf_red, ex.smf_color[0]), smf_blue=(smf_blue, ex.smf_color[1]),
                  n_red=(np.asarray(n_red)[:, None], [w_red.sum() / vol]), wp=(wp, ex.wp[0]),
                  delta_sigma=(ds, ex.delta_sigma[0]))
    for name, (draws, want) in checks.items():
        draws = np.asarray(draws)
        assert np.all(np.isfinite(draws)), name
        diff = draws.mean(axis=0) - np.asarray(want)
        se = draws.std(axis=0, ddof=1) / np.sqrt(nreal)
        z = diff / se
        assert np.all(np.abs(z) < 4.0), (name, z)
        # (w_p and Delta Sigma are ratios, so their Monte Carlo mean carries an O(1/n) bias: with ~300 red galaxies
        # a few 1e-4 of Delta Sigma, below the ~1e-3 standard error of 1000 realizations)
        # all bins at once with the realizations' covariance (w_p and Delta Sigma bins are strongly correlated):
        # Hotelling's T^2 of the mean, F-distributed with (p, R - p) degrees of freedom
        p = diff.size
        t2 = nreal * diff @ np.linalg.solve(np.atleast_2d(np.cov(draws, rowvar=False)), diff)
        pvalue = sps.f.sf(t2 * (nreal - p) / (p * (nreal - 1)), p, nreal - p)
        assert pvalue > 1e-4, (name, t2 / p, pvalue, z)
    # the test has power: ignoring survival or quenching moves the SMF of red galaxies by many standard errors
    se = np.std(smf_red, axis=0, ddof=1) / np.sqrt(nreal)
    bins = np.asarray(triweight_bin_prob(SMF_EDGES[:-1, None], SMF_EDGES[1:, None], pop.mu[None], pop.sigma[None]))
    no_survival = (bins * p_q).sum(axis=1) / (width * vol)
    no_quenching = (bins * p_s).sum(axis=1) / (width * vol)
    for wrong in (no_survival, no_quenching):
        assert np.max(np.abs(np.mean(smf_red, axis=0) - wrong) / se) > 20.0


# --- gradients ------------------------------------------------------------------------------------------------
def test_gradients_in_all_24_parameters_match_central_differences(predictor, model, theta):
    jac = jax.jit(jax.jacfwd(predictor))(theta)
    assert type(jac.wp) is model.params_type
    h, rtol, tiny = 1e-5, 1e-5, 1e-3
    quench = set(model.blocks[3].fields)
    for name in model.fields:
        v = getattr(theta, name)
        up = predictor(theta._replace(**{name: v + h}))
        dn = predictor(theta._replace(**{name: v - h}))
        for field in ("smf", "smf_color", "wp", "delta_sigma"):
            ad = np.asarray(getattr(getattr(jac, field), name))
            fd = (np.asarray(getattr(up, field)) - np.asarray(getattr(dn, field))) / (2 * h)
            if field == "smf" and name in quench:  # the total SMF does not see quenching
                assert np.all(ad == 0.0) and np.all(fd == 0.0), name
                continue
            scale = np.max(np.abs(ad))
            assert scale > 0, (name, field)
            # entries far below the largest one are checked to rtol * tiny * scale, or to the rounding error of the
            # difference quotient where that is larger: 100 ulp of the magnitude computed over h (for w_p that is
            # 2 pi_max DD / RR = 2 pi_max + w_p, with DD summed over many pairs)
            big = np.abs(ad) >= tiny * scale
            mag = np.abs(getattr(up, field)) + (2.0 * 15.0 if field == "wp" else 0.0)
            floor = np.maximum(rtol * tiny * scale, 100.0 * np.finfo(float).eps * mag / h)
            err = np.abs(fd - ad)
            assert np.all(err[~big] <= floor[~big]), (name, field, np.max(err[~big] / floor[~big]))
            assert np.all(err[big] <= rtol * np.abs(ad[big])), (name, field, np.max(err[big] / np.abs(ad[big])))


def test_reverse_mode_agrees_with_forward_mode(predictor, theta):
    def loss(t):
        p = predictor(t)
        return jnp.sum(p.wp[1]) + 1e3 * jnp.sum(p.smf_color) + jnp.sum(p.delta_sigma[1])

    g = jax.jit(jax.grad(loss))(theta)
    f = jax.jit(jax.jacfwd(loss))(theta)
    np.testing.assert_allclose(np.asarray(g), np.asarray(f), rtol=1e-10, atol=1e-12 * np.max(np.abs(np.asarray(f))))
    assert np.count_nonzero(np.asarray(g)) == len(theta)  # every parameter moves the red sample


def test_corrfunc_values_and_vmap_over_theta(catalog, config, model, theta, predictor, exact):
    p = make_predictor(catalog, config, model=model, engine="corrfunc", nthreads=1)(theta)
    np.testing.assert_allclose(p.wp, exact.wp, rtol=1e-10)
    other = theta._replace(dlogsm=-0.04, fq_sat_x0=13.5, dis_floor=0.2)
    batch = jax.tree_util.tree_map(lambda a, b: jnp.asarray([a, b]), theta, other)
    out = jax.jit(jax.vmap(predictor))(batch)
    for i, t in enumerate((theta, other)):
        for a, b in zip(out, predictor(t)):
            np.testing.assert_allclose(a[i], b, rtol=1e-12)
    assert not np.allclose(out.wp[0], out.wp[1])


# --- refusals and shapes --------------------------------------------------------------------------------------
def test_colours_need_a_model_with_quenching(catalog):
    red = make_config(samples=(threshold_sample(10.6), threshold_sample(10.3, color="red")), rp_edges=RP_EDGES,
                      pi_max=15.0)
    for kwargs, name in ((dict(), "sham"), (dict(smhm=standin_smhm), "sham"), (dict(model=compose(parametric())),
                                                                              "parametric"),
                         (dict(model=compose(parametric(), disruption())), "parametric + disruption")):
        with pytest.raises(ValueError, match=rf"config.samples\[1\].color: 'red' needs a model with quenching, but "
                                             rf"the model '{re.escape(name)}' has none"):
            make_predictor(catalog, red, **kwargs)
    blue_smf = make_config(smf_edges=SMF_EDGES, smf_colors=("all", "blue"))
    for kwargs in (dict(smhm=standin_smhm), dict(model=compose(parametric()))):
        with pytest.raises(ValueError, match=r"config.smf_colors: \['blue'\] need a model with quenching"):
            make_predictor(catalog, blue_smf, **kwargs)
    # "all" needs no quenching: its SMF is the total one
    p = make_predictor(catalog, make_config(smf_edges=SMF_EDGES, smf_colors=("all",)), smhm=standin_smhm)(THETA0)
    np.testing.assert_allclose(p.smf_color[0], p.smf, rtol=1e-15)


def test_unknown_colour_is_refused(catalog, model):
    green = make_config(samples=(threshold_sample(10.3, color="green"),))
    with pytest.raises(ValueError, match=r"config.samples\[0\].color: expected one of \('all', 'red', 'blue'\), "
                                         r"found 'green'"):
        check_config(green, catalog)
    with pytest.raises(ValueError, match="found 'green'"):
        make_predictor(catalog, green, model=model)
    with pytest.raises(ValueError, match=r"config.smf_colors: expected colours from .* found 'green'"):
        check_config(make_config(smf_edges=SMF_EDGES, smf_colors=("red", "green")), catalog)
    with pytest.raises(ValueError, match=r"config.smf_colors: asks for \['red'\] but smf_edges is empty"):
        check_config(make_config(smf_colors=("red",)), catalog)


def test_tabulated_engine_refuses_composed_models_with_shamnet(catalog, config):
    # SHAMNet composed with other components cannot go through the tabulated engine; the error names the model
    for model, name in ((compose(sham(), quenching()), "sham + quenching"),
                        (compose(sham(), quenching(), disruption(), stellar_mass_offset()),
                         "sham + sm_offset + quenching + disruption")):
        with pytest.raises(ValueError, match=rf"engine='tabulated'.* the model '{re.escape(name)}' .*engine='exact'"):
            make_predictor(catalog, config, model=model, engine="tabulated")
    with pytest.raises(ValueError, match=r"engine='tabulated'.*net=/smhm="):
        make_predictor(catalog, make_config(smf_edges=SMF_EDGES), model=compose(sham(smhm=standin_smhm)),
                       engine="tabulated")


def test_model_and_net_or_smhm_are_exclusive(catalog, config, model):
    from shaminfer.shamnet import load_shamnet

    with pytest.raises(ValueError, match="give either a model or net/smhm"):
        make_predictor(catalog, config, model=model, net=load_shamnet())
    with pytest.raises(ValueError, match="give either a model or net/smhm"):
        make_predictor(catalog, config, model=model, smhm=standin_smhm)


def test_theta_of_the_wrong_model_is_refused(catalog, model, theta):
    f = make_predictor(catalog, make_config(smf_edges=SMF_EDGES), model=model)
    assert f.model is model and model.name == "parametric + sm_offset + quenching + disruption"
    with pytest.raises(ValueError, match=r"theta: expected the parameters \['logsm_0'.* of the model "
                                         r"'parametric \+ sm_offset \+ quenching \+ disruption'"):
        f(THETA0)
    with pytest.raises(ValueError, match=r"theta.fq_cen_k: expected finite values"):
        f(theta._replace(fq_cen_k=np.nan))
    with pytest.raises(ValueError, match=r"block 'quenching', field 'fq_sat_hi'"):
        f(theta._replace(fq_sat_hi=1.2))
    np.testing.assert_allclose(f(np.asarray(theta)).smf, f(theta).smf, rtol=1e-15)  # a flat array is accepted


def test_default_sham_predictor_has_no_colour_smf(catalog):
    cfg = make_config(smf_edges=SMF_EDGES, samples=(threshold_sample(10.6),), rp_edges=RP_EDGES, pi_max=15.0)
    for f in (make_predictor(catalog, cfg), make_predictor(catalog, cfg, smhm=standin_smhm)):
        p = f(THETA0)
        assert p.smf_color.shape == (0, 10) and p.smf.shape == (10,) and p.wp.shape == (1, 7)
        assert f.model.fields == THETA0._fields and not f.model.has_quenching


# --- cost of the gradient -------------------------------------------------------------------------------------
def test_gradient_cost_does_not_grow_with_the_number_of_parameters(catalog, model, theta, monkeypatch):
    """Count the pair passes of the exact engine: values take one pass per sample, a whole gradient or Jacobian
    (forward or reverse) one pass per sample too (DD and the neighbour sums G at once), for 4 or 24 parameters."""
    counts = {"pair_counts": 0, "neighbour_sums": 0}

    def counting(name):
        original = getattr(clustering, name)

        def wrapped(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(clustering, "pair_counts", counting("pair_counts"))
    monkeypatch.setattr(clustering, "neighbour_sums", counting("neighbour_sums"))

    cfg = make_config(samples=(threshold_sample(10.3), threshold_sample(10.6)), rp_edges=RP_EDGES, pi_max=15.0,
                      ds_rbins=())
    cases = {4: (make_predictor(catalog, cfg, model=compose(sham(smhm=standin_smhm))), THETA0),
             24: (make_predictor(catalog, cfg, model=model), theta)}
    seen = {}
    for npar, (f, th) in cases.items():
        assert len(th) == npar
        per = {}

        def run(what, fun):
            for k in counts:
                counts[k] = 0
            out = fun()
            jax.block_until_ready(out)
            per[what] = dict(counts)
            return out

        run("value", lambda: f(th).wp)
        jr = run("jacrev", lambda: jax.jacrev(lambda t: f(t).wp)(th))
        run("value_and_grad", lambda: jax.value_and_grad(lambda t: jnp.sum(f(t).wp))(th))
        jf = run("jacfwd", lambda: jax.jacfwd(lambda t: f(t).wp)(th))
        run("jit(value_and_grad)", lambda: jax.jit(jax.value_and_grad(lambda t: jnp.sum(f(t).wp)))(th))
        np.testing.assert_allclose(np.asarray(jr), np.asarray(jf), rtol=1e-9, atol=1e-9 * np.abs(np.asarray(jf)).max())
        assert np.count_nonzero(np.asarray(jr)) > 0
        seen[npar] = per
    assert seen[4] == seen[24], seen
    nsample = len(cfg.samples)
    assert seen[24]["value"] == {"pair_counts": nsample, "neighbour_sums": 0}, seen
    for what in ("jacrev", "value_and_grad", "jacfwd", "jit(value_and_grad)"):
        assert seen[24][what] == {"pair_counts": 0, "neighbour_sums": nsample}, (what, seen)
