import dataclasses

import numpy as np
import pytest

from shaminfer.catalogs import LensingProfiles, SubhaloCatalog

L = 20.0


def _good(n=6, **changes):
    rng = np.random.default_rng(0)
    kw = dict(
        pos=rng.uniform(0, L, (n, 3)),
        logmpeak=np.linspace(11.0, 14.0, n),
        box_size=L,
        redshift=0.5,
        host_index=np.array([-1, 0, -1, 2, -1, 0])[:n],
        particle_pos=rng.uniform(0, L, (50, 3)),
        particle_mass=1e10,
        lensing=LensingProfiles(rbins=np.array([0.1, 1.0, 5.0]), index=np.array([0, 2]),
                                delta_sigma=np.ones((2, 2))),
        meta={"origin": "test", "seed": 1},
    )
    kw.update(changes)
    return kw


def test_valid_catalog_and_helpers():
    kw = _good()
    cat = SubhaloCatalog(**kw)
    assert cat.n == 6 and cat.volume == L**3
    np.testing.assert_array_equal(cat.is_central, [True, False, True, False, True, False])
    np.testing.assert_array_equal(cat.pos, kw["pos"])
    assert cat.pos.dtype == np.float64 and cat.host_index.dtype == np.int64
    assert "n=6" in repr(cat) and "satellites=3" in repr(cat)
    # frozen: no attribute assignment, read-only arrays, no aliasing of the caller's arrays
    with pytest.raises(dataclasses.FrozenInstanceError):
        cat.box_size = 3.0
    with pytest.raises(ValueError):
        cat.pos[0, 0] = 1.0
    kw["pos"][0, 0] = 0.123
    assert cat.pos[0, 0] != 0.123
    with pytest.raises(TypeError):
        cat.meta["x"] = 1
    # replace re-validates
    assert cat.replace(redshift=1.0).redshift == 1.0
    with pytest.raises(ValueError, match="redshift"):
        cat.replace(redshift=-1.0)
    # minimal catalog: only the required fields
    cat = SubhaloCatalog(pos=np.zeros((2, 3)), logmpeak=[12.0, 13.0], box_size=1.0)
    assert cat.host_index is None and cat.is_central.all() and cat.lensing is None
    assert LensingProfiles(rbins=[1.0, 4.0], index=[3], delta_sigma=[[1.0]]).rmid[0] == 2.0


BAD_SUBHALOS = [
    (dict(pos=np.zeros((6, 2))), r"pos: expected an array of shape \(N, 3\)"),
    (dict(pos=np.where(np.arange(18).reshape(6, 3) < 4, np.nan, 1.0)), r"pos: .*finite.*2 row\(s\)"),
    (dict(pos=np.full((6, 3), 1.0) + np.array([[L, 0, 0]] * 2 + [[0, 0, 0]] * 4)), r"pos: .*\[0, box_size=20\).*2 row"),
    (dict(pos=-np.ones((6, 3))), r"pos: .*6 row"),
    (dict(logmpeak=np.ones(5) * 12), r"logmpeak: expected 6 values .* found 5"),
    (dict(logmpeak=np.array([12, 12, np.inf, 12, 12, np.nan])), r"logmpeak: expected finite .* 2 row"),
    (dict(logmpeak=np.array([12, 12, 1e12, 12, 12, 3.0])), r"logmpeak: .*\[6.0, 17.0\].*2 row"),
    (dict(box_size=0.0), r"box_size: expected a finite value in \(0.0"),
    (dict(box_size="big"), r"box_size: expected a real number"),
    (dict(redshift=np.nan), r"redshift: expected a finite value"),
    (dict(host_index=np.array([-1, 0, -1, 2, -1])), r"host_index: expected 6 values"),
    (dict(host_index=np.array([-1, 0, -1, 9, -2, 0])), r"host_index: .*found 2 row\(s\) outside"),
    (dict(host_index=np.array([-1, 1, -1, 2, -1, 0])), r"host_index: .*pointing at themselves"),
    (dict(host_index=np.array([-1, 0, -1, 1, -1, 3])), r"host_index: .*found 2 satellite\(s\) whose host is itself"),
    (dict(host_index=np.array([-1, 0.5, -1, 2, -1, 0])), r"host_index: .*integers"),
    (dict(host_index=np.ones((6, 1), dtype=int)), r"host_index: expected .* found shape"),
]


@pytest.mark.parametrize("changes, match", BAD_SUBHALOS)
def test_subhalo_validation_errors(changes, match):
    with pytest.raises(ValueError, match=match):
        SubhaloCatalog(**_good(**changes))


BAD_MATTER = [
    (dict(particle_mass=None), r"particle_pos / particle_mass: expected both or neither, found only particle_pos"),
    (dict(particle_pos=None), r"found only particle_mass"),
    (dict(particle_mass=-1.0), r"particle_mass: expected a finite value in \(0.0"),
    (dict(particle_pos=np.full((50, 3), L)), r"particle_pos: .*50 row"),
    (dict(particle_pos=np.full((50, 3), np.nan)), r"particle_pos: expected finite values, found 50 row"),
    (dict(particle_pos=np.zeros(50)), r"particle_pos: expected an array of shape \(Np, 3\)"),
    (dict(lensing="profiles"), r"lensing: expected a LensingProfiles"),
    (dict(lensing=LensingProfiles(rbins=[0.1, 1.0], index=[0, 7, 9], delta_sigma=np.ones((3, 1)))),
     r"lensing.index: expected indices in \[0, 6\), found 2 outside"),
    (dict(lensing=LensingProfiles(rbins=[0.1, 10.0], index=[0], delta_sigma=np.ones((1, 1)))),
     r"lensing.rbins: expected the outer edge below box_size/2"),
    (dict(meta={"bad": [1, 2]}), r"meta: expected str keys"),
]


@pytest.mark.parametrize("changes, match", BAD_MATTER)
def test_matter_validation_errors(changes, match):
    with pytest.raises(ValueError, match=match):
        SubhaloCatalog(**_good(**changes))


BAD_PROFILES = [
    (dict(rbins=[0.1]), r"lensing.rbins: expected at least 2"),
    (dict(rbins=[0.0, 1.0, 2.0]), r"lensing.rbins: expected positive edges"),
    (dict(rbins=[0.1, 2.0, 1.0]), r"lensing.rbins: expected strictly increasing edges, found 1 non-increasing"),
    (dict(rbins=[0.1, np.nan, 1.0]), r"lensing.rbins: expected finite"),
    (dict(index=[0, 0]), r"lensing.index: expected distinct catalog indices, found 1 duplicate"),
    (dict(index=[-1, 0]), r"lensing.index: expected indices >= 0, found 1 negative"),
    (dict(index=[0, 1, 2]), r"lensing.delta_sigma: expected 3 rows"),
    (dict(delta_sigma=np.ones((2, 3))), r"lensing.delta_sigma: expected an array of shape \(M, nR=2\)"),
    (dict(delta_sigma=np.array([[1.0, np.nan], [np.inf, 1.0]])), r"lensing.delta_sigma: .*2 row"),
    (dict(los_axis=3), r"lensing.los_axis: expected 0, 1 or 2"),
]


@pytest.mark.parametrize("changes, match", BAD_PROFILES)
def test_profile_validation_errors(changes, match):
    kw = dict(rbins=[0.1, 1.0, 5.0], index=[0, 2], delta_sigma=np.ones((2, 2)), los_axis=2)
    kw.update(changes)
    with pytest.raises(ValueError, match=match):
        LensingProfiles(**kw)
