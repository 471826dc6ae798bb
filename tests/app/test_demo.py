"""The mass-function part of ``make demo`` writes its tables and figure, and its numbers make sense."""
import numpy as np

from shaminfer.app.demo import mass_function_summary


def test_mass_function_summary(tmp_path, capsys):
    cols = mass_function_summary(tmp_path)
    for name in ("mass_functions.csv", "subhalo_mass_function.csv", "mass_functions.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob("*.tmp*"))
    table = np.loadtxt(tmp_path / "mass_functions.csv", delimiter=",", skiprows=1)
    assert table.shape[1] == len(cols)
    # SHAMNet's SMHM reproduces the target Schechter SMF (Eq. 2) to a few hundredths of a dex below log M* = 11.5
    x, target, shamnet = table[:, 0], table[:, 1], table[:, 2]
    keep = x <= 11.5
    assert np.max(np.abs(np.log10(shamnet[keep] / target[keep]))) < 0.05
    # more scatter, higher high-mass tail (Fig. 2)
    assert table[-5, -1] > table[-5, -2] > table[-5, -3]
    assert "max |log10 ratio|" in capsys.readouterr().out
