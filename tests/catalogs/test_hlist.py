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


def test_box_and_redshift_from_arguments_file_name_or_scale_column(tmp_path, table):
    path = tmp_path / "h.list"
    centrals = [r for r in _rows(table)[1:] if r["upid"] == -1][:4]
    write_hlist(path, centrals, comments="#no metadata here\n")
    with pytest.raises(ValueError, match="h.list: box_size: not given"):
        load_hlist(path)
    cat = load_hlist(path, box_size=60.0)  # scale column: a = 0.5
    assert cat.redshift == pytest.approx(1.0) and cat.meta["redshift_from"] == "scale column"
    cat = load_hlist(path, box_size=60.0, redshift=0.0)
    assert cat.n == 4 and cat.redshift == 0.0 and cat.meta["redshift_from"] == "argument"
    named = tmp_path / "hlist_0.25000.list"
    named.write_bytes(path.read_bytes())
    cat = load_hlist(named, box_size=60.0)
    assert cat.redshift == pytest.approx(3.0) and cat.meta["redshift_from"] == "file name"
    no_scale = [n for n in NAMES if n != "scale"]
    bare = tmp_path / "bare.list"
    with open(bare, "w") as f:
        f.write("#" + " ".join(f"{n}({i})" for i, n in enumerate(no_scale)) + "\n")
        f.write(" ".join("1" if n in ("id", "upid") else "1.0" for n in no_scale) + "\n")
    with pytest.raises(ValueError, match=r"bare.list: redshift: expected '#a = ...' in the header, a scale factor "
                                         r"in the file name .* or a 'scale' column, found none"):
        load_hlist(bare, box_size=60.0, mass_column="Mpeak")


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


def test_bad_rows_are_reported_with_line_and_column(tmp_path, table):
    path = tmp_path / "h.list"
    rows = _rows(table)
    rows[3]["x"] = 75.0  # far outside the 60 Mpc/h box: not an edge round-off
    write_hlist(path, rows)
    with pytest.raises(ValueError, match=r"pos: expected coordinates in \[0, box_size=60\) Mpc/h, found 1 row"):
        load_hlist(path)
    header_lines = 1 + COMMENTS.count("\n")
    for value, found in ((0.0, "0.0"), (-1e12, "-1000000000000.0"), (float("nan"), "nan")):
        rows = _rows(table)
        rows[5]["Mpeak"] = value
        write_hlist(path, rows)
        # never dropped by a cut: an error naming the line and the column, whatever the cut
        for cut in (None, 10.0):
            with pytest.raises(ValueError, match=rf"h.list: line {header_lines + 6}, column 'Mpeak': expected a "
                                                 rf"positive, finite mass \[Msun/h\], found {found}"):
                load_hlist(path, logmpeak_min=cut, chunk_lines=50)
    rows = _rows(table)
    rows[7]["y"] = float("inf")
    write_hlist(path, rows)
    with pytest.raises(ValueError, match=rf"line {header_lines + 8}, column 'y': expected finite values"):
        load_hlist(path)
    write_hlist(path, _rows(table))
    text = path.read_text()
    path.write_text(text[: len(text) - 200])  # a truncated last line
    with pytest.raises(ValueError, match=rf"h.list: line {header_lines + 300}: expected {len(NAMES)} columns as the "
                                         r"header names, found \d+ \(a truncated last line\?\)"):
        load_hlist(path)
    body, last = text.rstrip("\n").rsplit("\n", 1)
    path.write_text(body + "\n" + " ".join(last.split()[:30]))  # cut before the used columns end
    with pytest.raises(ValueError, match=rf"line {header_lines + 300}: expected at least \d+ columns, found \d+"):
        load_hlist(path)
    path.write_text(text.replace("-1 -1", "-1 abc", 1))
    with pytest.raises(ValueError, match=r"h.list: line \d+, column 'upid': expected an integer, found 'abc'"):
        load_hlist(path)


def test_empty_files(tmp_path):
    path = tmp_path / "h.list"
    path.write_text("")
    with pytest.raises(ValueError, match=r"h.list: expected a Rockstar / ConsistentTrees catalog, found an empty file"):
        load_hlist(path)
    write_hlist(path, [])
    with pytest.raises(ValueError, match=r"h.list: expected halo rows after the header, found none"):
        load_hlist(path)
    path.write_text("#just a comment = 1\n1 2 3\n")
    with pytest.raises(ValueError, match=r"expected a first line naming the columns"):
        load_hlist(path)


def _reference(tmp_path, table, cut=11.0):
    path = tmp_path / "hlist_0.50000.list"
    write_hlist(path, _rows(table))
    return path, load_hlist(path, logmpeak_min=cut, columns=("Vpeak", "mvir"))


def test_gzip_files_stream_to_the_same_catalog(tmp_path, table):
    import gzip

    path, ref = _reference(tmp_path, table)
    gz = tmp_path / "hlist_0.50000.list.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    cat = load_hlist(gz, logmpeak_min=11.0, columns=("Vpeak", "mvir"), chunk_lines=37)
    np.testing.assert_array_equal(cat.pos, ref.pos)
    np.testing.assert_array_equal(cat.host_index, ref.host_index)
    np.testing.assert_array_equal(cat.properties["id"], ref.properties["id"])
    gz.write_bytes(gzip.compress(path.read_bytes())[:-2000])  # a truncated download
    with pytest.raises(ValueError, match=r"hlist_0.50000.list.gz: unreadable catalog after line \d+"):
        load_hlist(gz)


def test_ids_extra_columns_and_counts_are_kept(tmp_path, table):
    _, cat = _reference(tmp_path, table)
    keep = np.flatnonzero(np.log10([float(f"{10 ** m:.5e}") for m in table["logm"]]) >= 11.0)
    np.testing.assert_array_equal(cat.properties["id"], table["ids"][keep])
    np.testing.assert_array_equal(cat.properties["upid"], table["upid"][keep])
    np.testing.assert_allclose(cat.properties["mvir"], 0.8 * 10 ** cat.logmpeak, rtol=1e-5)
    assert cat.properties["id"].dtype == np.int64 and set(cat.properties) == {"id", "upid", "Vpeak", "mvir"}
    assert cat.meta["n_rows_cut"] == 300 - keep.size and cat.meta["header_variant"] == "indexed"
    with pytest.raises(ValueError, match=r"missing column\(s\) \['Vmax_typo'\]; found columns: \['scale', 'id'"):
        load_hlist(tmp_path / "hlist_0.50000.list", columns=("Vmax_typo",))
    twice = load_hlist(tmp_path / "hlist_0.50000.list", logmpeak_min=11.0, columns=("Mpeak", "x"))
    np.testing.assert_allclose(np.log10(twice.properties["Mpeak"]), twice.logmpeak, rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", ["indexed+trailing", "positional"])
def test_header_variants_load_alike(tmp_path, table, variant):
    path, ref = _reference(tmp_path, table)
    lines = path.read_text().splitlines(keepends=True)
    if variant == "indexed+trailing":  # the last 20 names without an index
        head = [f"{n}({i})" for i, n in enumerate(NAMES[:-20])] + list(NAMES[-20:])
    else:  # Rockstar out_*.list: plain names in column order
        head = list(NAMES)
    other = tmp_path / "out_0.50000.list"
    other.write_text("#" + " ".join(head) + "\n" + "".join(lines[1:]))
    assert read_hlist_header(other)["variant"] == variant
    cat = load_hlist(other, logmpeak_min=11.0, columns=("Vpeak", "mvir"))
    np.testing.assert_array_equal(cat.pos, ref.pos)
    np.testing.assert_array_equal(cat.properties["Vpeak"], ref.properties["Vpeak"])
    assert cat.meta["header_variant"] == variant
