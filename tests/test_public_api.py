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


def test_import_creates_no_array_so_configure_jax_still_applies():
    # the entry points call configure_jax() after importing shaminfer; both flags must still take effect
    import os
    import subprocess
    import sys

    code = (
        "import shaminfer, shaminfer.cli, shaminfer.stats, shaminfer.inference, shaminfer.shamnet, shaminfer.catalogs\n"
        "from jax._src import xla_bridge as xb\n"
        "before = bool(xb._backends)\n"
        "shaminfer.configure_jax()\n"
        "import jax, jax.numpy as jnp\n"
        "print(int(before), jnp.ones(2).dtype, int(jax.config.values['jax_cpu_enable_async_dispatch']))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["0", "float64", "0"]
