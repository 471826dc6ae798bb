import numpy as np
import pytest

from shaminfer.catalogs import load_hlist, read_hlist_header

# ConsistentTrees 1.01 hlist header (Bolshoi-Planck layout, Mpeak in column 60)
NAMES = ("scale id desc_scale desc_id num_prog pid upid desc_pid phantom sam_mvir mvir rvir rs vrms mmp? "
         "scale_of_last_MM vmax x y z vx vy vz Jx Jy Jz Spin Breadth_first_ID Depth_first_ID Tree_root_ID "
         "Orig_halo_ID Snap_num Next_coprogenitor_depthfirst_ID Last_progenitor_depthfirst_ID "
         "Last_mainleaf_depthfirst_ID Tidal_Force Tidal_ID Rs_Klypin Mmvir_all M200b M200c M500c M2500c Xoff Voff "
         "Spin_Bullock b_to_a c_to_a A[x] A[y] A[z] b_to_a(500c) c_to_a(500c) A[x](500c) A[y](500c) A[z](500c) "
         "T/|U| M_pe_Behroozi M_pe_Diemer Macc Mpeak Vacc Vpeak Halfmass_Scale Acc_Rate_Inst Acc_Rate_100Myr "
         "Acc_Rate_1*Tdyn Acc_Rate_2*Tdyn Acc_Rate_Mpeak Mpeak_Scale Acc_Scale First_Acc_Scale First_Acc_Mvir "
         "First_Acc_Vmax Vmax@Mpeak Tidal_Force_Tdyn Log_(Vmax/Vmax_max(Tdyn;Tmpeak)) Time_to_future_merger "
         "Future_merger_MMP_ID").split()
COL = {n: i for i, n in enumerate(NAMES)}
COMMENTS = """#a = 0.50000
#Omega_M = 0.307115; Omega_L = 0.692885; h0 = 0.677700
#Full box size = 60.000000 Mpc/h
#Scale: Scale factor of halo.
#ID: ID of halo (unique across entire simulation).
#upid: ID of least massive host halo (-1 if distinct halo).
#x/y/z: Halo position (comoving Mpc/h)
#Mpeak: Peak mass over mass accretion history (Msun/h)
#Consistent Trees Version 1.01
"""


def write_hlist(path, rows, *, header=None, comments=COMMENTS):
    names = NAMES if header is None else header
    with open(path, "w") as f:
        f.write("#" + " ".join(f"{n}({i})" for i, n in enumerate(names)) + "\n")
        f.write(comments)
        for r in rows:
            vals = np.zeros(len(names), dtype=object)
            vals[:] = 0.0
            vals[COL["scale"]] = 0.5
            for key, v in r.items():
                vals[COL[key]] = v
            out = []
            for n, v in zip(names, vals):
                if n in ("id", "upid", "pid", "desc_id", "Orig_halo_ID"):
                    out.append(f"{int(v)}")
                elif n in ("x", "y", "z"):
                    out.append(f"{v:.5f}")
                else:
                    out.append(f"{v:.5e}")
            f.write(" ".join(out) + "\n")


@pytest.fixture()
def table():
    rng = np.random.default_rng(4)
    n = 300
    ids = rng.permutation(np.arange(10_000_000_000, 10_000_000_000 + 5 * n, 5))[:n]
    logm = rng.uniform(10.5, 14.5, n)
    upid = np.full(n, -1)
    hosts = np.flatnonzero(logm > 13.0)
    sats = rng.choice(np.flatnonzero(logm < 12.5), 60, replace=False)
    upid[sats] = ids[rng.choice(hosts, sats.size)]
    pos = np.round(rng.uniform(0, 60, (n, 3)), 5)
    pos[pos >= 60] = 0.0
    pos[0] = [60.0, 0.0, 59.99999]  # printing round-off at the edge
    return dict(ids=ids, logm=logm, upid=upid, pos=pos, sats=sats)


def _rows(t):
    return [dict(id=t["ids"][i], upid=t["upid"][i], pid=t["upid"][i], x=t["pos"][i, 0], y=t["pos"][i, 1],
                 z=t["pos"][i, 2], Mpeak=10 ** t["logm"][i], mvir=0.8 * 10 ** t["logm"][i])
            for i in range(len(t["ids"]))]


def test_header_parsing(tmp_path):
    path = tmp_path / "hlist_0.50000.list"
    write_hlist(path, [])
    h = read_hlist_header(path)
    assert h["columns"]["Mpeak"] == 60 and h["columns"]["upid"] == 6 and h["columns"]["x"] == 17
    assert h["columns"]["b_to_a(500c)"] == 51 and h["columns"]["T/|U|"] == 56
    assert h["scale"] == 0.5 and h["box_size"] == 60.0


@pytest.mark.parametrize("chunk_lines", [7, 200_000])
def test_load_with_mass_cut_and_hosts(tmp_path, table, chunk_lines):
    path = tmp_path / "hlist_0.50000.list"
    write_hlist(path, _rows(table))
    cat = load_hlist(path, logmpeak_min=11.0, chunk_lines=chunk_lines, progress=False)
    keep = np.flatnonzero(np.log10([float(f"{10 ** m:.5e}") for m in table["logm"]]) >= 11.0)
    assert cat.n == keep.size and cat.box_size == 60.0 and abs(cat.redshift - 1.0) < 1e-12
    np.testing.assert_allclose(cat.logmpeak, table["logm"][keep], atol=3e-6)
    expect_pos = table["pos"][keep] % 60.0
    np.testing.assert_allclose(cat.pos, expect_pos, atol=1e-9)
    assert cat.meta["n_edge_wrapped"] == int(0 in keep)
    assert cat.meta["n_rows_read"] == 300 and cat.meta["n_rows_kept"] == keep.size
    # every satellite points at the row of its upid
    ids = table["ids"][keep]
    for row in range(cat.n):
        up = table["upid"][keep][row]
        if up == -1:
            assert cat.host_index[row] == -1
        else:
            assert ids[cat.host_index[row]] == up
    assert (cat.host_index >= 0).sum() == np.isin(table["sats"], keep).sum()


def test_chunking_gives_identical_catalogs(tmp_path, table):
    path = tmp_path / "h.list"
    write_hlist(path, _rows(table))
    a = load_hlist(path, chunk_lines=11)
    b = load_hlist(path, chunk_lines=10_000)
    np.testing.assert_array_equal(a.pos, b.pos)
    np.testing.assert_array_equal(a.host_index, b.host_index)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "h.list"
    header = [n for n in NAMES if n != "Mpeak"]
    with open(path, "w") as f:
        f.write("#" + " ".join(f"{n}({i})" for i, n in enumerate(header)) + "\n" + COMMENTS)
    with pytest.raises(ValueError, match=r"h.list: missing column\(s\) \['Mpeak'\]; found columns: \['scale', 'id'"):
        load_hlist(path)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['Vpeak_typo'\]"):
        write_hlist(path, [])
        load_hlist(path, mass_column="Vpeak_typo")


def test_box_and_redshift_from_arguments(tmp_path, table):
    path = tmp_path / "h.list"
    centrals = [r for r in _rows(table)[1:] if r["upid"] == -1][:4]
    write_hlist(path, centrals, comments="#no metadata here\n")
    with pytest.raises(ValueError, match="box_size: not given"):
        load_hlist(path)
    with pytest.raises(ValueError, match="redshift: not given"):
        load_hlist(path, box_size=60.0)
    cat = load_hlist(path, box_size=60.0, redshift=0.0)
    assert cat.n == 4 and cat.redshift == 0.0


def test_orphan_satellites(tmp_path, table):
    path = tmp_path / "h.list"
    rows = _rows(table)
    s0 = table["sats"][0]
    rows[s0]["Mpeak"] = 10**14.9  # a satellite above the cut whose host (< 1e14.5) is below it
    write_hlist(path, rows)
    with pytest.warns(UserWarning, match=r"1 satellite\(s\) have their host \(upid\) outside the loaded rows"):
        cat = load_hlist(path, logmpeak_min=14.6)
    assert cat.n == 1 and cat.host_index[0] == -1 and cat.meta["n_orphan_satellites"] == 1
    with pytest.raises(ValueError, match=r"1 satellite\(s\) have their host .*missing_host='central'"):
        load_hlist(path, logmpeak_min=14.6, missing_host="raise")
    rows = _rows(table)
    rows[s0]["upid"] = 123  # a host that does not exist at all
    write_hlist(path, rows)
    with pytest.warns(UserWarning):
        cat = load_hlist(path)
    assert cat.meta["n_orphan_satellites"] == 1 and (cat.host_index >= 0).sum() == table["sats"].size - 1
    rows = _rows(table)
    rows[s0]["upid"] = rows[table["sats"][1]]["id"]  # upid pointing at another satellite
    write_hlist(path, rows)
    with pytest.raises(ValueError, match=r"expected upid to point at host halos"):
        load_hlist(path)


def test_bad_rows_are_reported(tmp_path, table):
    path = tmp_path / "h.list"
    rows = _rows(table)
    rows[3]["x"] = 75.0  # far outside the 60 Mpc/h box: not an edge round-off
    write_hlist(path, rows)
    with pytest.raises(ValueError, match=r"pos: expected coordinates in \[0, box_size=60\) Mpc/h, found 1 row"):
        load_hlist(path)
    rows = _rows(table)
    rows[5]["Mpeak"] = 0.0
    write_hlist(path, rows)
    with pytest.raises(ValueError, match=r"logmpeak: expected finite values, found 1 row"):
        load_hlist(path)
    assert load_hlist(path, logmpeak_min=10.0).n == 299  # an explicit cut removes it
