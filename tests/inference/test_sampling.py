"""Warmup progress counts steps, and NumPyro's warmup in segments draws what one scan draws."""
import functools

import jax
import numpy as np
import pytest

from shaminfer.inference import sampling
from shaminfer.inference.sampling import SamplerSettings, chain_state, chunk_key, warmup_chains, warmup_segment_length


class RecordingBar:
    """Stands in for the tqdm bar: records its total and every update."""

    def __init__(self, settings, total, desc):
        self.total, self.desc, self.updates = total, desc, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        self.updates.append(n)

    @property
    def n(self):
        return sum(self.updates)


@pytest.fixture
def bars(monkeypatch):
    made = []

    def factory(settings, total, desc):
        made.append(RecordingBar(settings, total, desc))
        return made[-1]

    monkeypatch.setattr(sampling, "progress_bar", factory)
    return made


@pytest.mark.parametrize("n", [1, 7, 9, 10, 23, 77, 100, 150, 500, 1000, 997])
def test_warmup_segments_are_equal_and_about_ten(n):
    seg = warmup_segment_length(n)
    assert n % seg == 0
    # the longest divisor that still gives at least 10 segments (or 1)
    assert n // seg >= min(n, 10)
    assert all(n % d or n // d < 10 for d in range(seg + 1, n + 1))
    assert (warmup_segment_length(500), warmup_segment_length(150), warmup_segment_length(101)) == (50, 15, 1)


def test_the_warmup_bar_counts_steps_across_chains(bars):
    settings = SamplerSettings(num_chains=3, num_warmup=20, progress_bar=False)

    def segmented(c, key, advance):
        for _ in range(4):
            advance(5)
        advance(5)  # over-reporting is clipped to num_warmup per chain
        return {"x": np.full(2, float(c))}

    state = warmup_chains(settings, chunk_key(0, 0), "segmented", segmented)
    bar = bars[-1]
    assert bar.total == 60 and bar.n == 60
    assert bar.updates == [5, 5, 5, 5] * 3
    np.testing.assert_array_equal(state["x"], [[0, 0], [1, 1], [2, 2]])

    # A backend whose warmup is one call moves the bar by num_warmup per chain.
    warmup_chains(settings, chunk_key(0, 0), "one call", lambda c, key, advance: {"x": np.zeros(1)})
    assert bars[-1].total == 60 and bars[-1].updates == [20, 20, 20]


@pytest.mark.parametrize("num_warmup", [23, 40])
def test_numpyro_warmup_in_segments_is_one_scan_bit_for_bit(standin_model, bars, num_warmup):
    """Segments of the compiled kernel loop carry the adaptation: the post-warmup state equals one long scan's."""
    from shaminfer.inference.nuts_numpyro import NumpyroNUTS, _run_steps
    from shaminfer.inference.sampling import initial_points

    settings = SamplerSettings(num_chains=2, num_warmup=num_warmup, seed=4, init="prior", progress_bar=False)
    sampler = NumpyroNUTS(standin_model, settings)
    key = chunk_key(settings.seed, 0)
    state = sampler.warmup(key)
    seg = warmup_segment_length(num_warmup)
    assert bars[-1].total == 2 * num_warmup and bars[-1].updates == [seg] * (2 * num_warmup // seg)

    # The same warmup as one scan of num_warmup steps per chain (what the sampler did before segments).
    ref = NumpyroNUTS(standin_model, settings)
    k_start, k_init, k_run = jax.random.split(key, 3)
    start = initial_points(standin_model, settings, k_start)
    ref._make_kernel(start.inverse_mass_matrix)
    init = ref._init(k_init, start.positions)
    one_scan = jax.jit(functools.partial(_run_steps, ref.kernel, num_warmup, False))
    keys = jax.random.split(k_run, settings.num_chains)
    for c in range(settings.num_chains):
        expected = one_scan(chain_state(init, c)._replace(rng_key=keys[c]))[0]
        got = chain_state(state, c)
        assert int(got.i) == num_warmup
        for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_blackjax_warmup_bar_counts_steps(standin_model, bars):
    from shaminfer.inference.nuts_blackjax import BlackjaxNUTS

    settings = SamplerSettings(backend="blackjax", num_chains=2, num_warmup=15, seed=4, init="prior",
                               progress_bar=False)
    state = BlackjaxNUTS(standin_model, settings).warmup(chunk_key(settings.seed, 0))
    assert np.asarray(state["step_size"]).shape == (2,)
    assert bars[-1].total == 30 and bars[-1].updates == [15, 15]
