"""Named parameter blocks: construction checks, collisions, the flat parameter type, make_params and its errors,
reading a block out of a flat theta under JAX transformations, and the bounds check of concrete parameters."""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from shaminfer.galaxy_halo import (
    DISRUPTION_BLOCK,
    MASS_SCATTER_BLOCK,
    QUENCHING_BLOCK,
    SHAM_BLOCK,
    SM_OFFSET_BLOCK,
    SMHM_BLOCK,
    ParamBlock,
    block_of,
    check_blocks,
    check_params_in_blocks,
    fit_fields,
    make_block,
    make_params,
    params_type,
    params_type_of_fields,
)
from shaminfer.ingredients import ShamParams


class _AB(NamedTuple):
    a: float
    b: float


class _Sigma(NamedTuple):  # collides with the "scatter" block's sigma_lo
    sigma_lo: float


def _ab_block(name="ab", defaults=None, bounds=None, prior=None):
    return make_block(name, _AB, defaults or dict(a=0.5, b=2.0), bounds or dict(a=(0.0, 1.0), b=(1.0, 3.0)),
                      prior or dict(a=(0.1, 0.9), b=(1.5, 2.5)), doc="a test block")


FULL = (SMHM_BLOCK, MASS_SCATTER_BLOCK, SM_OFFSET_BLOCK, QUENCHING_BLOCK, DISRUPTION_BLOCK)


def test_make_block_builds_a_checked_block():
    b = _ab_block()
    assert isinstance(b, ParamBlock) and b.name == "ab" and b.fields == ("a", "b") and b.doc == "a test block"
    assert dict(b.defaults) == dict(a=0.5, b=2.0) and b.bounds["b"] == (1.0, 3.0) and b.prior["a"] == (0.1, 0.9)
    with pytest.raises(TypeError):  # the tables are read-only
        b.defaults["a"] = 0.7


@pytest.mark.parametrize("defaults", [dict(a=1.5, b=2.0), dict(a=0.5, b=0.9), dict(a=np.nan, b=2.0)])
def test_make_block_refuses_defaults_outside_the_bounds(defaults):
    with pytest.raises(ValueError, match=r"block 'ab', field '[ab]': expected a default in"):
        _ab_block(defaults=defaults)


@pytest.mark.parametrize("prior", [dict(a=(-0.1, 0.9), b=(1.5, 2.5)), dict(a=(0.1, 0.9), b=(1.5, 3.5)),
                                   dict(a=(0.9, 0.1), b=(1.5, 2.5))])
def test_make_block_refuses_a_prior_outside_the_bounds(prior):
    with pytest.raises(ValueError, match=r"block 'ab', field '[ab]': expected lo < hi and a prior"):
        _ab_block(prior=prior)


def test_make_block_refuses_empty_bounds():
    with pytest.raises(ValueError, match="expected lo < hi"):
        _ab_block(bounds=dict(a=(1.0, 0.0), b=(1.0, 3.0)))


@pytest.mark.parametrize("table", ["defaults", "bounds", "prior"])
def test_make_block_refuses_missing_or_extra_fields(table):
    tables = dict(defaults=dict(a=0.5, b=2.0), bounds=dict(a=(0.0, 1.0), b=(1.0, 3.0)),
                  prior=dict(a=(0.1, 0.9), b=(1.5, 2.5)))
    missing = dict(tables)
    missing[table] = {k: v for k, v in tables[table].items() if k != "b"}
    with pytest.raises(ValueError, match=rf"block 'ab' {table}: expected the fields \['a', 'b'\], found \['a'\]"):
        make_block("ab", _AB, **missing)
    extra = dict(tables)
    extra[table] = dict(tables[table], c=tables[table]["a"])
    with pytest.raises(ValueError, match=rf"block 'ab' {table}: expected the fields"):
        make_block("ab", _AB, **extra)


def test_shipped_blocks_are_consistent():
    # defaults inside the prior, the prior inside the bounds, for every shipped block
    for b in (SHAM_BLOCK,) + FULL:
        for f in b.fields:
            lo, hi = b.bounds[f]
            plo, phi = b.prior[f]
            assert lo <= plo < phi <= hi, (b.name, f)
            assert plo <= b.defaults[f] <= phi, (b.name, f)


def test_check_blocks_refuses_duplicate_block_names():
    assert check_blocks([QUENCHING_BLOCK, DISRUPTION_BLOCK]) == (QUENCHING_BLOCK, DISRUPTION_BLOCK)
    with pytest.raises(ValueError, match="expected unique block names, found 'quenching' twice"):
        check_blocks([QUENCHING_BLOCK, DISRUPTION_BLOCK, QUENCHING_BLOCK])
    # same name, different fields: still refused by name
    with pytest.raises(ValueError, match="found 'ab' twice"):
        check_blocks([_ab_block(), make_block("ab", _Sigma, dict(sigma_lo=0.3), dict(sigma_lo=(0.0, 1.0)),
                                             dict(sigma_lo=(0.1, 0.5)))])


def test_check_blocks_refuses_colliding_field_names_naming_both_blocks():
    # SHAM's and the parametric scatter's blocks both have sigma_lo (and sigma_hi)
    with pytest.raises(ValueError, match=r"block 'scatter': parameter 'sigma_lo' collides .* in block 'sham'"):
        check_blocks([SHAM_BLOCK, MASS_SCATTER_BLOCK])
    other = make_block("other", _Sigma, dict(sigma_lo=0.3), dict(sigma_lo=(0.0, 1.0)), dict(sigma_lo=(0.1, 0.5)))
    with pytest.raises(ValueError, match=r"block 'other': parameter 'sigma_lo' collides .* in block 'scatter'"):
        check_blocks([SMHM_BLOCK, MASS_SCATTER_BLOCK, other])


def test_check_blocks_refuses_empty_and_non_blocks():
    with pytest.raises(ValueError, match="at least one parameter block"):
        check_blocks([])
    with pytest.raises(ValueError, match="expected ParamBlock objects, found dict"):
        check_blocks([QUENCHING_BLOCK, dict(QUENCHING_BLOCK.defaults)])


def test_params_type_is_shamparams_for_sham_and_one_type_per_field_list():
    assert params_type([SHAM_BLOCK]) is ShamParams
    t1 = params_type(FULL)
    t2 = params_type(list(FULL))
    assert t1 is t2 and t1._fields == fit_fields(FULL) and len(t1._fields) == 24
    # a block rebuilt with the same name and fields gives the same type; other field lists give other types
    class OtherOffset(NamedTuple):  # another NamedTuple class with the same field
        dlogsm: float

    rebuilt = make_block("offset2", OtherOffset, dict(dlogsm=0.0), dict(dlogsm=(-1.0, 1.0)), dict(dlogsm=(-0.2, 0.2)))
    assert params_type(FULL[:2] + (rebuilt,) + FULL[3:]) is t1
    assert params_type(FULL[:4]) is not t1 and params_type(FULL[:4])._fields == fit_fields(FULL[:4])
    # order matters: the flat tuple follows block order
    swapped = params_type((QUENCHING_BLOCK, SMHM_BLOCK))
    assert swapped._fields[:7] == QUENCHING_BLOCK.fields and swapped is not params_type((SMHM_BLOCK, QUENCHING_BLOCK))
    assert block_of(FULL, "fq_sat_x0") is QUENCHING_BLOCK and block_of(FULL, "dlogsm") is SM_OFFSET_BLOCK
    with pytest.raises(KeyError):
        block_of(FULL, "nope")


def test_make_params_from_flat_and_per_block_dicts_fills_defaults():
    t = make_params(FULL)
    assert type(t) is params_type(FULL)
    for b in FULL:
        for f in b.fields:
            assert getattr(t, f) == b.defaults[f]
    flat = make_params(FULL, dict(logsm_0=10.1, fq_cen_x0=12.5, dis_k=20.0))
    nested = make_params(FULL, dict(smhm=dict(logsm_0=10.1), quenching=dict(fq_cen_x0=12.5),
                                    disruption=dict(dis_k=20.0)))
    mixed = make_params(FULL, dict(smhm=dict(logsm_0=10.1), fq_cen_x0=12.5, disruption=dict(dis_k=20.0)))
    assert flat == nested == mixed
    assert flat.logsm_0 == 10.1 and flat.fq_cen_x0 == 12.5 and flat.dis_k == 20.0
    assert flat.fq_cen_k == QUENCHING_BLOCK.defaults["fq_cen_k"]  # untouched fields keep the defaults
    assert flat != t
    assert make_params([SHAM_BLOCK], dict(alpha=-1.1)) == ShamParams(**dict(SHAM_BLOCK.defaults, alpha=-1.1))


def test_make_params_unknown_field_names_the_field_and_the_blocks():
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['fq_cen_xx'\]; the blocks have .*'quenching'"):
        make_params(FULL, dict(fq_cen_xx=12.0))
    with pytest.raises(ValueError, match=r"block 'quenching': unknown field 'logsm_0'; expected one of"):
        make_params(FULL, dict(quenching=dict(logsm_0=10.0)))  # a real field, in the wrong block
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['nope'\]"):
        make_params(FULL, dict(nope=dict(a=1.0)))  # a dict under a name that is no block


def test_make_params_missing_field_when_not_partial():
    values = {f: v for b in FULL for f, v in b.defaults.items()}
    assert make_params(FULL, values, partial=False) == make_params(FULL)
    values.pop("dis_floor")
    with pytest.raises(ValueError,
                       match=r"block 'disruption': missing field 'dis_floor' \(allowed range \[0.0, 1.0\]\)"):
        make_params(FULL, values, partial=False)


@pytest.mark.parametrize("field,value,block,lo,hi", [
    ("logsm_0", 13.0, "smhm", "8.5", "12"),
    ("fq_cen_hi", -0.2, "quenching", "0", "1"),
    ("dlogsm", 0.75, "sm_offset", "-0.5", "0.5"),
    ("dis_k", np.inf, "disruption", "2", "60"),
])
def test_make_params_out_of_range_names_block_field_value_and_range(field, value, block, lo, hi):
    with pytest.raises(ValueError, match=rf"block '{block}', field '{field}': expected a value in \[{lo}, {hi}\], "
                                         rf"found {value!r}"):
        make_params(FULL, {field: value})
    with pytest.raises(ValueError, match=rf"block '{block}', field '{field}': expected a real number"):
        make_params(FULL, {field: "ten"})


def test_take_reads_a_block_under_jit_and_grad():
    theta = make_params(FULL, dict(fq_cen_x0=12.4, dis_x0=0.6))
    q = QUENCHING_BLOCK.take(theta)
    assert type(q) is QUENCHING_BLOCK.type
    assert q._asdict() == dict(QUENCHING_BLOCK.defaults, fq_cen_x0=12.4)
    jitted = jax.jit(lambda t: DISRUPTION_BLOCK.take(t))(theta)
    assert type(jitted) is DISRUPTION_BLOCK.type
    np.testing.assert_allclose(np.asarray(jitted), [0.6, 0.05, 15.0, 0.1], rtol=0, atol=0)

    def f(t):
        d = DISRUPTION_BLOCK.take(t)
        return d.dis_x0 ** 2 + 3.0 * d.dis_k + jnp.sin(SM_OFFSET_BLOCK.take(t).dlogsm)

    g = jax.grad(f)(theta)
    assert type(g) is type(theta)
    want = dict.fromkeys(theta._fields, 0.0)
    want.update(dis_x0=1.2, dis_k=3.0, dlogsm=1.0)  # cos(0) = 1
    np.testing.assert_allclose(np.asarray(g), [want[k] for k in theta._fields], rtol=1e-14, atol=0)
    # vmap over a batch of thetas
    batch = jax.tree_util.tree_map(lambda v: jnp.asarray([v, v + 0.01]), theta)
    np.testing.assert_allclose(jax.vmap(f)(batch)[0], f(theta), rtol=1e-14)


def test_check_params_in_blocks_concrete_vs_traced():
    good = make_params(FULL)
    check_params_in_blocks(FULL, good)
    bad = good._replace(fq_sat_hi=1.3)  # _replace skips make_params' checks
    with pytest.raises(ValueError,
                       match=r"block 'quenching', field 'fq_sat_hi': expected values in \[0, 1\], found 1.3"):
        check_params_in_blocks(FULL, bad)
    with pytest.raises(ValueError, match="field 'dis_slope'"):
        check_params_in_blocks(FULL, good._replace(dis_slope=np.nan))
    with pytest.raises(ValueError, match=r"field 'dlogsm'.*\[0.0, 0.7\]"):  # arrays: every entry is checked
        check_params_in_blocks(FULL, good._replace(dlogsm=np.array([0.0, 0.7])))
    # only the given blocks are checked
    check_params_in_blocks((SMHM_BLOCK, DISRUPTION_BLOCK), bad)

    seen = []

    def f(t):
        check_params_in_blocks(FULL, t)  # traced: passes whatever the values
        seen.append(True)
        return t.fq_sat_hi * 2.0

    assert float(jax.jit(f)(bad)) == pytest.approx(2.6)
    assert float(jax.grad(f)(bad).fq_sat_hi) == 2.0
    assert len(seen) == 2
    # traced values also pass make_params (they are checked on a concrete call)
    out = jax.jit(lambda x: make_params(FULL, dict(dlogsm=x)).dlogsm)(0.9)
    assert float(out) == pytest.approx(0.9)


def test_params_type_of_fields_is_the_type_of_the_blocks_with_those_fields():
    assert params_type_of_fields(ShamParams._fields) is ShamParams
    assert params_type_of_fields(fit_fields(FULL)) is params_type(FULL)
    for bad in ((), ("a", "a"), ("a", "1b"), ("_x",)):
        with pytest.raises(ValueError, match=r"parameter names: expected distinct identifiers"):
            params_type_of_fields(bad)
