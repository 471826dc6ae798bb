"""MPI sub-volumes: the same public calls, run under ``mpirun -n K``, split the box into K slabs (mpi4py).

Under ``mpirun`` (or ``srun``) every rank runs the same program on the same
theta. The box is cut along one axis that is *not* the line of sight into
``K`` slabs of equal width ``L / K``; rank ``r`` owns ``[r L / K, (r + 1) L / K)``.
The heavy, additive steps then split by ownership and are summed over ranks
(one small ``Allreduce`` or ``Allgatherv`` each):

* pair passes (:mod:`shaminfer.stats.paircount`, the tabulated engine's
  tables, hence the exact engine inside an HMC run and the jackknife): a rank
  visits the pairs whose first point lies in a grid column it owns. The
  half-shell kernel reaches ``reach`` columns on the ``+`` side only, so its
  ghost zone is one-sided. Subhalo positions are small and every rank keeps all
  of them; the per-object neighbour sums and the counts are summed over ranks,
  so every rank holds the same likelihood and gradient;
* per-object lensing profiles (:mod:`shaminfer.catalogs.lensing_mpi`): a
  rank sums Eq. F4 over the particles of its own slab for every object
  within the outer lensing radius of the slab (the ghost zone holds objects,
  not particles), and the partial profiles are summed. A rank needs only its
  slab's particles, so a catalog read from HDF5 under MPI holds just them
  (:func:`shaminfer.catalogs.io.load_catalog`).

Sums of the same terms in another order agree to round-off (about 1e-15
relative). Rank 0 alone writes files (:mod:`shaminfer._atomic` discards the
other ranks' writes); an exception on any rank prints its traceback and
aborts the whole job (:func:`abort_on_error`), so a failure never hangs the
others.

MPI is used only when the process was started by an MPI launcher with more
than one rank (``OMPI_COMM_WORLD_SIZE``, ``PMI_SIZE``, ``PMIX_SIZE`` or
``SLURM_NTASKS`` with ``PMI_RANK``/``PMIX_RANK``), so serial runs never import
mpi4py. ``SHAMINFER_MPI=0`` turns it off.
"""
from __future__ import annotations

import os
import sys
import traceback
from typing import NamedTuple

import numpy as np

__all__ = [
    "Slabs",
    "MPIError",
    "world",
    "rank",
    "size",
    "is_root",
    "slabs",
    "owned_columns",
    "allreduce_sum",
    "all_true",
    "agree",
    "abort_on_error",
    "abort_job",
    "periodic_interval_mask",
]

_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")
_COMM = None
_COMM_READY = False


class MPIError(ValueError):
    """A distributed run that cannot go on (ranks disagree, a bad split): bad input, raised on every rank."""


def _launched_size() -> int:
    if os.environ.get("SHAMINFER_MPI", "1") == "0":
        return 1
    for var in _SIZE_VARS:
        val = os.environ.get(var)
        if val and val.isdigit():
            return int(val)
    if os.environ.get("PMIX_RANK") is not None or os.environ.get("PMI_RANK") is not None:
        return 2  # launched by an MPI runtime that does not export the size: ask MPI itself
    return 1


def world():
    """``mpi4py.MPI.COMM_WORLD`` when started by an MPI launcher with more than one rank, else None."""
    global _COMM, _COMM_READY
    if not _COMM_READY:
        _COMM_READY = True
        if _launched_size() > 1:
            try:
                from mpi4py import MPI
            except ImportError as exc:
                raise MPIError(f"started under an MPI launcher but mpi4py cannot be imported ({exc}); install it "
                               "with `pip install mpi4py` against the MPI library of the launcher") from None
            comm = MPI.COMM_WORLD
            _COMM = comm if comm.Get_size() > 1 else None
    return _COMM


def rank() -> int:
    """This process's rank (0 without MPI)."""
    comm = world()
    return 0 if comm is None else comm.Get_rank()


def size() -> int:
    """Number of ranks (1 without MPI)."""
    comm = world()
    return 1 if comm is None else comm.Get_size()


def is_root() -> bool:
    """True on rank 0 (and without MPI): the rank that writes files and prints progress."""
    return rank() == 0


class Slabs(NamedTuple):
    """Equal-width slabs along ``axis``: rank ``r`` owns ``[edges[r], edges[r + 1])`` [Mpc/h].

    ``ghost`` is the width [Mpc/h] a rank needs beyond its slab on each side.
    """

    axis: int
    edges: np.ndarray
    ghost: float
    rank: int

    @property
    def lo(self) -> float:
        return float(self.edges[self.rank])

    @property
    def hi(self) -> float:
        return float(self.edges[self.rank + 1])

    @property
    def n(self) -> int:
        return self.edges.size - 1

    def owns(self, coord) -> np.ndarray:
        """Boolean mask of coordinates (along ``axis``, in [0, L)) inside this rank's slab."""
        c = np.asarray(coord, dtype=np.float64)
        return (c >= self.lo) & (c < self.hi)

    def region(self) -> tuple[float, float]:
        """``(lo - ghost, hi + ghost)``: the periodic interval of positions this rank needs."""
        return self.lo - self.ghost, self.hi + self.ghost


def slabs(box_size: float, *, los_axis: int = 2, ghost: float = 0.0, n: int | None = None,
          rank_: int | None = None, what: str = "sub-volumes") -> Slabs:
    """Split the box into ``n`` (default: the number of ranks) slabs along the first axis other than ``los_axis``.

    Raises
    ------
    MPIError
        When a ghost zone is wider than half a slab (``ghost > L / (2 n)``):
        the message gives the largest number of ranks that works.
    """
    n = size() if n is None else int(n)
    r = rank() if rank_ is None else int(rank_)
    box = float(box_size)
    axis = [a for a in (0, 1, 2) if a != int(los_axis)][0]
    width = box / n
    if ghost > 0.5 * width:
        k_max = max(1, int(np.floor(box / (2.0 * ghost))))
        raise MPIError(f"{what}: {n} ranks cut the {box:g} Mpc/h box into slabs {width:g} Mpc/h wide, but the ghost "
                       f"zone ({ghost:g} Mpc/h, the largest separation used) is wider than half a slab; run with at "
                       f"most {k_max} rank{'s' if k_max > 1 else ''}")
    return Slabs(axis, np.linspace(0.0, box, n + 1), float(ghost), r)


def owned_columns(ncell: int, *, n: int | None = None, rank_: int | None = None, what: str = "pair count"
                  ) -> tuple[int, int]:
    """Grid columns ``[lo, hi)`` along the split axis owned by this rank, for a grid of ``ncell`` columns.

    Column ``c`` (covering ``[c, c + 1) L / ncell``) belongs to the rank whose
    slab holds its lower edge, so every column has exactly one owner.
    """
    n = size() if n is None else int(n)
    r = rank() if rank_ is None else int(rank_)
    if ncell < n:
        raise MPIError(f"{what}: {n} ranks but the box splits into only {ncell} grid columns (cells at least "
                       f"r_p max / reach wide); run with at most {ncell} ranks")
    lo = -(-r * ncell // n)
    hi = -(-(r + 1) * ncell // n)
    return lo, hi


def periodic_interval_mask(coord, lo: float, hi: float, box: float) -> np.ndarray:
    """Mask of coordinates in ``[0, box)`` inside the periodic interval ``[lo, hi)`` (``lo`` may be < 0, ``hi`` > box)."""
    c = np.asarray(coord, dtype=np.float64)
    if hi - lo >= box:
        return np.ones(c.shape, dtype=bool)
    return ((c - lo) % box) < (hi - lo)


def allreduce_sum(comm, arr: np.ndarray) -> np.ndarray:
    """Element-wise sum of ``arr`` over ranks (float64, in place of a copy); ``arr`` itself without MPI."""
    if comm is None:
        return arr
    from mpi4py import MPI

    buf = np.ascontiguousarray(arr, dtype=np.float64)
    out = np.empty_like(buf)
    comm.Allreduce(buf, out, op=MPI.SUM)
    return out


def all_true(comm, flag: bool) -> bool:
    """True when ``flag`` holds on every rank (``flag`` itself without MPI).

    For decisions that lead into collective calls, such as "use the cached
    file or rebuild it": a rank that decided alone could wait forever.
    """
    if comm is None:
        return bool(flag)
    return bool(comm.allreduce(int(bool(flag)), op=_mpi_min()))


def _mpi_min():
    from mpi4py import MPI

    return MPI.MIN


def agree(comm, what: str, value) -> None:
    """Check that every rank passes the same ``value`` (a str or tuple of numbers); raise on every rank if not.

    Used before each reduction so that ranks that reached it with different
    data (another catalog, or calls in another order) stop with a message
    instead of summing unrelated arrays or waiting forever.
    """
    if comm is None:
        return
    values = comm.allgather(value)
    if any(v != values[0] for v in values[1:]):
        bad = [r for r, v in enumerate(values) if v != values[0]]
        raise MPIError(f"{what}: ranks disagree (rank 0 has {values[0]!r}, rank(s) {bad} have "
                       f"{[values[r] for r in bad]!r}); every rank must load the same catalog and run the same calls")


def abort_job(code: int) -> None:
    """Under MPI, end every rank of the job with exit status ``code`` (a no-op without MPI or for code 0).

    One failing rank must not leave the others waiting in a collective call.
    """
    if code == 0 or _launched_size() <= 1:
        return
    comm = world()
    if comm is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        comm.Abort(int(code))


def abort_on_error(func):
    """Decorator: under MPI, an exception on any rank prints its traceback there and aborts the whole job.

    Exit codes: ``SystemExit`` keeps its code on a single rank; under MPI any
    failure calls ``MPI_Abort`` with that code (1 for an exception), so
    ``mpirun`` ends every rank and exits non-zero rather than hanging.
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            comm = world() if _COMM_READY or _launched_size() > 1 else None
            if comm is not None and code != 0:
                sys.stderr.flush()
                comm.Abort(code)
            raise
        except BaseException:
            comm = world() if _launched_size() > 1 else None
            if comm is None:
                raise
            sys.stderr.write(f"[rank {comm.Get_rank()} of {comm.Get_size()}] ")
            traceback.print_exc()
            sys.stderr.flush()
            comm.Abort(1)

    return wrapper
