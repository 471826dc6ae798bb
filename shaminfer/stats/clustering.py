"""Projected correlation function w_p of a weighted sample, exact and differentiable (Sec. 4.3).

Estimator (Eqs. 13-17): with per-object sample weights ``w_a``,

    DD_i = sum_a sum_{b != a} w_a w_b S_i(a, b)                       (Eq. 14)
    RR_i = [(sum_a w_a)^2 - sum_a w_a^2] V_i / V                       (Eqs. 15-17)
    xi_i = DD_i / RR_i - 1                                            (Eq. 13)

where ``(sum w)^2 - sum w^2 = (sum w)^2 (1 - 1/N_eff)`` (Eq. 16), ``V = L^3``
and ``V_i = pi (rp_{i+1}^2 - rp_i^2) 2 pi_max`` is the volume of the cylinder
shell ``|pi| < pi_max`` of bin ``i``.

w_p with a single pi bin: with equal-width pi bins ``dpi = pi_max / n_pi``,
``RR_ij = RR_i / n_pi`` is the same in every pi bin, so

    w_p(r_p,i) = 2 sum_j xi_ij dpi = 2 sum_j (n_pi DD_ij / RR_i - 1) dpi
               = 2 pi_max (DD_i / RR_i - 1),   DD_i = sum_j DD_ij,

i.e. the pair count summed over ``|pi| < pi_max`` against the full
cylinder-shell volume. This is Corrfunc's ``wp`` for unit weights
(``RR = N (N - 1) V_i / V``) and needs one count per r_p bin only.

Pair counts run outside JAX (:mod:`shaminfer.stats.paircount`) through
``jax.pure_callback``. Their derivative is a ``jax.custom_jvp`` whose tangent
is plain JAX arithmetic on the neighbour sums ``G`` returned by the callback:
``dDD_i = 2 sum_a dw_a G[a, i]`` (Eq. 19 by symmetry of ``S_i``), so
``jax.grad`` (reverse mode, as NUTS uses), ``jax.jacfwd``, ``jax.jit`` and
``jax.vmap`` all work, with one pair pass for any number of parameters. The
RR term and Eq. 18 are ordinary autodiff. The tangent assumes ``dw_a = 0``
wherever ``w_a = 0`` (zero-weight objects are not counted), which holds for
the triweight selection weights of Eq. 6 (App. E). First derivatives only:
a second derivative (``jax.hessian``) would differentiate the callback
itself, which JAX refuses.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .paircount import DEFAULT_REACH, corrfunc_pair_counts, neighbour_sums, pair_counts

__all__ = [
    "PAIR_ENGINES",
    "cylinder_shell_volumes",
    "random_pair_counts",
    "wp_from_pair_counts",
    "make_pair_counter",
    "make_wp",
]

#: "exact": the numba neighbour-sum kernel (values and exact gradients);
#: "corrfunc": Corrfunc's DDrppi (values only; differentiating raises).
PAIR_ENGINES = ("exact", "corrfunc")


def cylinder_shell_volumes(rp_edges, pi_max) -> np.ndarray:
    """``V_i = pi (rp_{i+1}^2 - rp_i^2) 2 pi_max`` [(Mpc/h)^3], shape (nrp,)."""
    rp = np.asarray(rp_edges, dtype=np.float64)
    return np.pi * np.diff(rp**2) * 2.0 * float(pi_max)


def random_pair_counts(weights, *, rp_edges, pi_max, box_size):
    """Expected pair counts of the weighted sample with random positions, Eqs. 15-17.

    Parameters
    ----------
    weights : array (..., N)
    rp_edges : sequence (nrp + 1,) [Mpc/h]
    pi_max : float [Mpc/h]
    box_size : float [Mpc/h]

    Returns
    -------
    array (..., nrp)
        ``RR_i = ((sum w)^2 - sum w^2) V_i / L^3``.
    """
    s1 = jnp.sum(weights, axis=-1)
    s2 = jnp.sum(weights * weights, axis=-1)
    frac = jnp.asarray(cylinder_shell_volumes(rp_edges, pi_max) / float(box_size) ** 3)
    return (s1 * s1 - s2)[..., None] * frac


def wp_from_pair_counts(dd, rr, pi_max):
    """``w_p = 2 pi_max (DD / RR - 1)`` [Mpc/h] (Eq. 13 summed over the pi bins; see the module docstring)."""
    return 2.0 * float(pi_max) * (dd / rr - 1.0)


def make_pair_counter(pos, *, box_size, rp_edges, pi_max, los_axis=2, engine="exact", nthreads=None,
                      reach=DEFAULT_REACH):
    """``DD(w)`` of Eq. 14 for fixed positions, as a pure JAX function of the weights.

    Parameters
    ----------
    pos : array (N, 3)
        Positions [Mpc/h] in ``[0, box_size)`` (captured as constants, never traced).
    box_size, rp_edges, pi_max, los_axis :
        As in :func:`shaminfer.stats.paircount.neighbour_sums`.
    engine : {"exact", "corrfunc"}
        "exact": numba kernel, with an exact ``custom_jvp``; "corrfunc": Corrfunc
        ``DDrppi`` values, and differentiating raises ``ValueError``.
    nthreads : int or None
        Threads of the pair counter (None: numba's current setting).

    Returns
    -------
    callable
        ``dd(w)``: array (N,) -> array (nrp,), ordered pairs. Works under
        ``jit``, ``grad``, ``jacfwd``, ``jvp`` and ``vmap`` (engine "exact").
        The tangent is ``2 dw @ G``; it assumes ``dw = 0`` where ``w = 0``.
    """
    if engine not in PAIR_ENGINES:
        raise ValueError(f"engine: expected one of {PAIR_ENGINES}, found {engine!r}")
    pos = np.array(pos, dtype=np.float64, copy=True)
    pos.setflags(write=False)
    n = pos.shape[0]
    rp_edges = np.asarray(rp_edges, dtype=np.float64)
    nbin = rp_edges.size - 1
    opts = dict(box_size=float(box_size), rp_edges=rp_edges, pi_max=float(pi_max), los_axis=int(los_axis))

    def _check_shape(w):
        if w.shape != (n,):
            raise ValueError(f"weights: expected shape ({n},), found {w.shape}")

    def host_values(w):
        w = np.asarray(w)
        _check_shape(w)
        if engine == "exact":
            dd = pair_counts(pos, w, nthreads=nthreads, reach=reach, **opts)
        else:
            dd = corrfunc_pair_counts(pos, w, nthreads=nthreads, **opts)
        return dd.astype(w.dtype)

    def host_values_and_g(w):
        w = np.asarray(w)
        _check_shape(w)
        sums = neighbour_sums(pos, w, nthreads=nthreads, reach=reach, **opts)
        return sums.dd.astype(w.dtype), sums.g.astype(w.dtype)

    @jax.custom_jvp
    def dd(w):
        w = jnp.asarray(w)
        return jax.pure_callback(host_values, jax.ShapeDtypeStruct((nbin,), w.dtype), w,
                                 vmap_method="sequential")

    @dd.defjvp
    def _dd_jvp(primals, tangents):
        (w,), (dw,) = primals, tangents
        if engine != "exact":
            raise ValueError('engine="corrfunc" gives pair-count values only; use engine="exact" for derivatives')
        w = jnp.asarray(w)
        out, g = jax.pure_callback(
            host_values_and_g,
            (jax.ShapeDtypeStruct((nbin,), w.dtype), jax.ShapeDtypeStruct((n, nbin), w.dtype)),
            w,
            vmap_method="sequential",
        )
        return out, 2.0 * (dw @ g)

    return dd


def make_wp(pos, *, box_size, rp_edges, pi_max, los_axis=2, engine="exact", nthreads=None):
    """``w_p(w)`` [Mpc/h] of a weighted sample at fixed positions (Eqs. 13-17), pure JAX.

    Same arguments as :func:`make_pair_counter`; returns a callable
    array (N,) -> array (nrp,). Its derivative is exact (Eqs. 18-20).
    """
    dd = make_pair_counter(pos, box_size=box_size, rp_edges=rp_edges, pi_max=pi_max, los_axis=los_axis,
                           engine=engine, nthreads=nthreads)

    def wp(w):
        rr = random_pair_counts(w, rp_edges=rp_edges, pi_max=pi_max, box_size=box_size)
        return wp_from_pair_counts(dd(w), rr, pi_max)

    return wp
