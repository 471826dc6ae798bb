"""Central finite differences shared by the galaxy-halo tests."""
import numpy as np


def fd_jacobian(f, y, h=1e-6):
    """(len(f(y)), y.size) Jacobian of ``f`` at the JAX array ``y`` by central differences of step ``h``."""
    return np.stack([(np.asarray(f(y.at[i].add(h))) - np.asarray(f(y.at[i].add(-h)))) / (2 * h)
                     for i in range(y.size)], axis=1)
