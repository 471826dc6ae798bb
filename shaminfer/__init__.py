"""shaminfer: exact, differentiable SHAM predictions of clustering and lensing, with HMC.

The data flow one way (see ``../shared/STYLE.md``):
catalog -> SHAMNet stellar masses -> per-subhalo bin weights -> summary
statistics -> likelihood terms -> sampler -> ArviZ.

Public API re-exported here:

* ingredients (Eqs. 3, 4, A1-A2, B1-B3, C1-C2, E1): :mod:`shaminfer.ingredients`
"""
from .ingredients import *  # noqa: F401,F403  (re-export; the list is ingredients.__all__)
from .ingredients import __all__ as _ingredients_all

__version__ = "0.1.0"
__all__ = list(_ingredients_all) + ["__version__"]
