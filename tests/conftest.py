"""Test-wide settings: float64 everywhere (tests also run with JAX_ENABLE_X64=1)."""
import os

os.environ.setdefault("JAX_ENABLE_X64", "1")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
