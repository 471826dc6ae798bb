"""Real simulation catalogs through the CLI: hlist (every header variant, .gz), halotools, particles.

The oracle is the same catalog in our own schema (``source = "file"``): the tiny synthetic universe written
out as a Rockstar / ConsistentTrees ASCII file or a halotools HDF5 table must give the same mock, up to the
printed precision of the ASCII columns.
"""
import gzip
import json

import h5py
import numpy as np
import pytest

from shaminfer.app.cli import main
from shaminfer.app.demo import DEMO_THETA_TRUE
from shaminfer.app.mock_io import load_mock
from shaminfer.app.toml_io import dumps_toml
from shaminfer.catalogs import save_catalog

from .conftest import TINY_STATS

NAMES = ["scale", "id", "desc_id", "upid", "mvir", "x", "y", "z", "Mpeak", "Vpeak", "Halfmass_Scale"]
FAST_FIT = {"forward": {"engine": "tabulated"}, "output": {"plots": False},
            "sampler": {"num_chains": 1, "num_warmup": 20, "num_samples": 10, "chunk_size": 10, "init": "prior",
                        "progress_bar": False}}


def _header(variant):
    if variant == "positional":
        return "#" + " ".join(NAMES)
    indexed = [f"{n}({i})" for i, n in enumerate(NAMES)]
    if variant == "indexed+trailing":
        indexed = indexed[:-3] + NAMES[-3:]
    return "#" + " ".join(indexed)


def write_hlist(catalog, path, *, variant="indexed", comments=True):
    ids = 1000 + 7 * np.arange(catalog.n)
    upid = np.where(catalog.host_index >= 0, ids[np.maximum(catalog.host_index, 0)], -1)
    mass = 10.0 ** catalog.logmpeak
    lines = [_header(variant)]
    if comments:
        lines += ["#a = 1.00000", f"#Full box size = {catalog.box_size:.6f} Mpc/h", "#Units: Mpc/h, Msun/h"]
    for i in range(catalog.n):
        x, y, z = catalog.pos[i]
        lines.append(f"1.00000 {ids[i]} -1 {upid[i]} {0.9 * mass[i]:.8e} {x:.8f} {y:.8f} {z:.8f} {mass[i]:.10e} "
                     f"{200 * (mass[i] / 1e12) ** 0.3:.4f} 0.5")
    text = "\n".join(lines) + "\n"
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _mock_doc(catalog_table, output, statistics=("smf", "wp")):
    stats = dict(TINY_STATS, statistics=list(statistics))
    return {"catalog": catalog_table, "stats": stats,
            "mock": {"theta_true": DEMO_THETA_TRUE._asdict(), "jackknife_n_side": 2, "output": str(output)}}


def _run_mock(tmp, name, doc):
    path = tmp / f"{name}.toml"
    path.write_text(dumps_toml(doc))
    assert main(["mock", str(path)]) == 0
    return load_mock(tmp / f"{name}.npz")


@pytest.fixture(scope="module")
def files(tiny_catalog, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real")
    save_catalog(tiny_catalog, tmp / "catalog.npz")
    np.savez(tmp / "particles.npz", pos=tiny_catalog.particle_pos, particle_mass=tiny_catalog.particle_mass)
    reference = _run_mock(tmp, "reference", _mock_doc({"source": "file", "path": str(tmp / "catalog.npz")},
                                                       tmp / "reference.npz", ("smf", "wp", "delta_sigma")))
    return {"tmp": tmp, "reference": reference}


def _same(mock, reference, fields=("smf", "wp")):
    for f in fields:
        np.testing.assert_allclose(getattr(mock, f), getattr(reference, f), rtol=1e-6, atol=1e-12, err_msg=f)
        np.testing.assert_allclose(mock.block(f), reference.block(f), rtol=1e-5, atol=1e-15, err_msg=f)


@pytest.mark.parametrize("variant, name", [("indexed", "hlist_1.00000.list"),
                                           ("indexed+trailing", "hlist_1.00000.list"),
                                           ("positional", "out_1.00000.list"),
                                           ("indexed", "hlist_1.00000.list.gz")])
def test_an_hlist_gives_the_mock_of_the_same_catalog(files, tiny_catalog, variant, name):
    tmp = files["tmp"] / variant.replace("+", "_")
    tmp.mkdir(exist_ok=True)
    path = write_hlist(tiny_catalog, tmp / name, variant=variant)
    mock = _run_mock(tmp, "mock", _mock_doc({"source": "hlist", "path": str(path), "logmpeak_min": 10.0,
                                             "columns": ["Vpeak"]}, tmp / "mock.npz"))
    _same(mock, files["reference"])
    assert mock.delta_sigma.shape == (2, 0)  # not computed
    assert mock.config["catalog"]["source"] == "hlist"


def test_particles_give_the_lensing_of_the_same_catalog(files, tiny_catalog):
    tmp = files["tmp"]
    path = write_hlist(tiny_catalog, tmp / "hlist_1.00000.list")
    table = {"source": "hlist", "path": str(path), "particles": str(tmp / "particles.npz"),
             "profile_logmpeak_min": 11.0}
    mock = _run_mock(tmp, "with_particles", _mock_doc(table, tmp / "with_particles.npz",
                                                       ("smf", "wp", "delta_sigma")))
    _same(mock, files["reference"], ("smf", "wp", "delta_sigma"))


def test_a_halotools_catalog_gives_the_mock_of_the_same_catalog(files, tiny_catalog):
    tmp = files["tmp"]
    ids = 5 + np.arange(tiny_catalog.n)
    t = np.zeros(tiny_catalog.n, dtype=[("halo_id", "i8"), ("halo_upid", "i8"), ("halo_x", "f8"), ("halo_y", "f8"),
                                        ("halo_z", "f8"), ("halo_mpeak", "f8")])
    t["halo_id"] = ids
    t["halo_upid"] = np.where(tiny_catalog.host_index >= 0, ids[np.maximum(tiny_catalog.host_index, 0)], -1)
    for i, c in enumerate("xyz"):
        t[f"halo_{c}"] = tiny_catalog.pos[:, i]
    t["halo_mpeak"] = 10.0 ** tiny_catalog.logmpeak
    with h5py.File(tmp / "halos.hdf5", "w") as f:
        f.create_dataset("data", data=t)
        f.attrs["Lbox"] = tiny_catalog.box_size
        f.attrs["redshift"] = 0.0
    mock = _run_mock(tmp, "halotools", _mock_doc({"source": "halotools", "path": str(tmp / "halos.hdf5"),
                                                  "logmpeak_min": 10.0}, tmp / "halotools.npz"))
    _same(mock, files["reference"])


def test_a_fit_of_an_hlist_mock_uses_the_statistics_it_has(files, tiny_catalog, capsys):
    tmp = files["tmp"] / "fit"
    tmp.mkdir()
    path = write_hlist(tiny_catalog, tmp / "hlist_1.00000.list")
    _run_mock(tmp, "mock", _mock_doc({"source": "hlist", "path": str(path)}, tmp / "mock.npz"))
    fit = tmp / "fit.toml"
    fit.write_text(dumps_toml({"data": "mock.npz", "run_dir": "run", **FAST_FIT}))
    assert main(["fit", str(fit)]) == 0
    capsys.readouterr()
    diagnostics = json.loads((tmp / "run" / "diagnostics.json").read_text())
    assert diagnostics["complete"]
    bad = tmp / "bad.toml"
    bad.write_text(dumps_toml({"data": "mock.npz", "run_dir": "run2", "terms": ["smf", "delta_sigma"], **FAST_FIT}))
    assert main(["fit", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "key 'terms': the data file mock.npz has no ['delta_sigma'] (it holds ['smf', 'wp'])" in err


@pytest.mark.parametrize("table, stats, pattern", [
    ({"source": "hlist", "path": "HLIST"}, ("smf", "wp", "delta_sigma"),
     r"key 'stats.statistics': delta_sigma needs lensing profiles or dark-matter particles, and the hlist catalog "
     r"hlist_1.00000.list has neither; name a particle file with catalog.particles, or leave delta_sigma out"),
    ({"source": "hlist", "path": "nope.list"}, ("smf",), r"key 'catalog.path': expected an existing catalog file, "
                                                        r"found no file at .*nope.list"),
    ({"source": "hlist"}, ("smf",), r"key 'catalog.path': expected a catalog file for source = \"hlist\""),
    ({"source": "hlist", "path": "HLIST", "particles": "parts.h5"}, ("smf",),
     r"key 'catalog.particles': expected an existing particle file"),
    ({"source": "synthetic", "columns": ["Vpeak"]}, ("smf",), r"key 'catalog.columns': only used with source = "
                                                             r"\"hlist\", \"halotools\" or \"file\""),
    ({"source": "halotools", "path": "HLIST", "box_size": 100.0}, ("smf",),
     r"key 'catalog.box_size': only used with source = \"synthetic\" or \"hlist\""),
    ({"source": "hlist", "path": "HLIST", "missing_host": "drop"}, ("smf",),
     r"key 'catalog.missing_host': expected one of \['central', 'raise'\]"),
])
def test_what_a_catalog_cannot_give_is_refused_before_computing(files, tiny_catalog, table, stats, pattern, capsys):
    tmp = files["tmp"] / "refused"
    tmp.mkdir(exist_ok=True)
    hlist = write_hlist(tiny_catalog, tmp / "hlist_1.00000.list")
    table = {k: (str(hlist) if v == "HLIST" else v) for k, v in table.items()}
    path = tmp / "mock.toml"
    path.write_text(dumps_toml(_mock_doc(table, tmp / "never.npz", stats)))
    assert main(["mock", str(path)]) == 2
    err = capsys.readouterr().err
    assert "mock: catalog" not in err  # nothing was loaded or computed
    import re

    assert re.search(pattern, err), err
    assert not (tmp / "never.npz").exists()


def test_bad_hlist_files_exit_2_naming_file_line_and_column(files, tiny_catalog, capsys):
    tmp = files["tmp"] / "bad"
    tmp.mkdir()
    good = write_hlist(tiny_catalog, tmp / "good.list").read_text().splitlines()
    cases = {
        "empty.list": ("", r"empty.list: expected a Rockstar / ConsistentTrees catalog, found an empty file"),
        "nan.list": ("\n".join(good[:10] + [good[10].replace(good[10].split()[8], "nan")] + good[11:]) + "\n",
                     r"nan.list: line 11, column 'Mpeak': expected a positive, finite mass \[Msun/h\], found nan"),
        "truncated.list": ("\n".join(good)[:-25], r"truncated.list: line \d+: expected 11 columns as the header "
                                                  r"names, found \d+ \(a truncated last line\?\)"),
        "nomass.list": ("\n".join(good).replace("Mpeak(8)", "Mpk(8)") + "\n",
                        r"nomass.list: missing column\(s\) \['Mpeak'\]; found columns: \['scale', 'id'"),
    }
    for name, (text, pattern) in cases.items():
        (tmp / name).write_text(text)
        doc = _mock_doc({"source": "hlist", "path": str(tmp / name)}, tmp / "out.npz")
        (tmp / "mock.toml").write_text(dumps_toml(doc))
        assert main(["mock", str(tmp / "mock.toml")]) == 2, name
        err = capsys.readouterr().err
        import re

        assert re.search(pattern, err) and "Traceback" not in err, (name, err)
