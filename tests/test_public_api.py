"""Every name in shaminfer.__all__ resolves, and the public functions carry docstrings."""
import inspect

import shaminfer


def test_all_names_resolve_and_are_documented():
    for name in shaminfer.__all__:
        obj = getattr(shaminfer, name)
        if callable(obj) and not name.startswith("DEFAULT"):
            assert inspect.getdoc(obj), f"shaminfer.{name} has no docstring"


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, shaminfer; print(int('numba' in sys.modules), int('colossus' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]
