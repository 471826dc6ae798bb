"""The ``shaminfer`` command line: ``mock``, ``fit``, ``compare``, ``demo``, ``domain``, ``config-template``
(and ``train-shamnet``); ``shaminfer --version`` prints the version.

Each subcommand is registered by an *adder*, a function that receives the
argparse subparsers object, adds its parser and sets ``func`` (a function of
the parsed arguments returning an exit code). Register a new subcommand with
:func:`register_command`::

    from shaminfer.app.cli import register_command

    @register_command
    def add_my_parser(subparsers):
        p = subparsers.add_parser("my-command", help="...")
        p.set_defaults(func=lambda args: 0)
        return p

Errors in the inputs (a bad configuration key, a covariance that is not
positive definite, a prior outside SHAMNet's domain, a missing file, a path
that is a directory or cannot be read or written) print one message naming
the problem and exit with status 2, as argparse does for a bad argument; any
other exception prints one line naming its type and exits with status 1.
``shaminfer --traceback COMMAND ...`` shows the Python traceback instead.
Ctrl-C during a fit exits with status 130 and leaves a valid partial run
that the same command resumes.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .. import __version__, parallel

__all__ = ["register_command", "build_parser", "main"]

CommandAdder = Callable[[argparse._SubParsersAction], argparse.ArgumentParser]
_COMMANDS: list[CommandAdder] = []


def register_command(adder: CommandAdder) -> CommandAdder:
    """Register ``adder(subparsers)`` to add a subcommand (usable as a decorator)."""
    if adder not in _COMMANDS:
        _COMMANDS.append(adder)
    return adder


def _print(msg: str = "") -> None:
    print(msg, flush=True)


def _toml_command(subparsers, name: str, func, *, help: str, description: str):
    """Add subcommand ``name`` that reads a TOML configuration (its first argument) and runs ``func(args)``."""
    p = subparsers.add_parser(name, help=help, description=description)
    p.add_argument("config", type=Path, help=f"{name} configuration (TOML)")
    p.set_defaults(func=func)
    return p


def _print_files(files) -> int:
    """List the files a command wrote; the command's exit status (0)."""
    for name, path in files.items():
        _print(f"  {name}: {path}")
    return 0


@register_command
def add_mock_parser(subparsers):
    p = _toml_command(subparsers, "mock", _cmd_mock, help="make a mock data file from a TOML configuration",
                      description="Compute the SMF, w_p and Delta Sigma (and colour SMFs) of the configured "
                                  "galaxy-halo model with the exact forward model at theta_true, their jackknife "
                                  "(or given) covariance and optional noise, and save them to one .npz file (see "
                                  "shaminfer.app.config).")
    p.add_argument("--output", type=Path, default=None, help="override mock.output")
    return p


def _cmd_mock(args) -> int:
    from .config import load_mock_config
    from .pipeline import run_mock

    cfg = load_mock_config(args.config)
    if args.output is not None:
        cfg = cfg._replace(output=args.output.resolve())
    mock = run_mock(cfg)
    _print(f"mock written to {cfg.output}")
    colors = f", smf_color {mock.smf_color.shape}" if mock.smf_color.size else ""
    _print(f"  smf {mock.smf.shape}, wp {mock.wp.shape}, delta_sigma {mock.delta_sigma.shape}{colors}; "
           f"theta_true {dict((k, round(float(x), 5)) for k, x in zip(mock.theta_true._fields, mock.theta_true))}")
    return 0


@register_command
def add_fit_parser(subparsers):
    p = _toml_command(subparsers, "fit", _cmd_fit, help="sample the posterior of theta with NUTS",
                      description="Fit a data file with NumPyro or BlackJAX NUTS; write posterior.nc, summary.csv "
                                  "and corner, trace and data-vs-posterior-predictive PNGs. Rerunning the same "
                                  "command resumes an interrupted run.")
    p.add_argument("--run-dir", type=Path, default=None, help="override run_dir")
    p.add_argument("--backend", choices=("numpyro", "blackjax"), default=None, help="override sampler.backend")
    p.add_argument("--restart", action="store_true", help="discard an existing checkpoint in the run directory")
    p.add_argument("--max-chunks", type=int, default=None,
                   help="stop after this many chunks of draws (the run stays resumable)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    return p


def _cmd_fit(args) -> int:
    from .config import load_fit_config
    from .pipeline import describe, run_fit_config, write_fit_outputs

    cfg = load_fit_config(args.config)
    if args.run_dir is not None:
        cfg = cfg._replace(run_dir=args.run_dir.resolve())
    if args.backend is not None:
        cfg = cfg._replace(sampler=cfg.sampler._replace(backend=args.backend))
    if args.max_chunks is not None and args.max_chunks < 1:
        raise ValueError(f"--max-chunks: expected an integer >= 1, found {args.max_chunks}")
    result = run_fit_config(cfg, restart=args.restart, max_chunks=args.max_chunks)
    if result.idata is None:
        _print(f"{cfg.run_dir}: warmup done, no draws yet; rerun to continue")
        return 0
    outputs = write_fit_outputs(result, plots=cfg.plots and not args.no_plots)
    _print(describe(outputs))
    done = int(result.idata.attrs["draws_done"])
    if not result.complete:
        _print(f"partial run: {done}/{cfg.sampler.num_samples} draws per chain; rerun the same command to resume")
    return _print_files(outputs.files)


@register_command
def add_compare_parser(subparsers):
    p = subparsers.add_parser("compare", help="compare the posteriors of several runs",
                              description="Forest plot, overlaid pair (corner) plot and a summary table of "
                                          "several runs, plus az.compare's PSIS-LOO table when they fit the "
                                          "same data with the same likelihood terms.")
    p.add_argument("runs", nargs="+", type=Path, help="run directories (or posterior.nc files)")
    p.add_argument("--out", type=Path, default=None, help="output directory (default: <first run>/../compare)")
    p.add_argument("--names", default=None, help="comma-separated run labels")
    p.add_argument("--allow-partial", action="store_true",
                   help="compute the LOO table even when a run is partial (it stays labelled as such)")
    p.set_defaults(func=_cmd_compare)
    return p


def _cmd_compare(args) -> int:
    import pandas as pd

    from .compare import compare_runs

    if len(args.runs) < 2:
        raise ValueError(f"compare: expected at least 2 runs, found {len(args.runs)}")
    names = None if args.names is None else [n.strip() for n in args.names.split(",")]
    if names is not None and len(names) != len(args.runs):
        raise ValueError(f"--names: expected {len(args.runs)} labels, found {len(names)}")
    first = args.runs[0] if args.runs[0].is_dir() else args.runs[0].parent
    out = args.out if args.out is not None else first.parent / "compare"
    res = compare_runs(args.runs, out, names=names, allow_partial=args.allow_partial)
    with pd.option_context("display.width", 160, "display.max_columns", 40):
        _print(res.summary.T.to_string())
        if res.loo is not None:
            _print("\nPSIS-LOO (az.compare):")
            _print(res.loo.to_string())
        else:
            _print(f"\nLOO table skipped: {res.loo_reason}")
    return _print_files(res.files)


@register_command
def add_demo_parser(subparsers):
    p = subparsers.add_parser("demo", help="run the end-to-end demo (mock, two fits, comparison)",
                              description="Mock data on the synthetic default universe, fits of the SMF alone "
                                          "and of SMF + w_p + Delta Sigma, and their comparison, under one "
                                          "directory (see shaminfer.app.demo).")
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="run directory (default runs/demo)")
    p.add_argument("--size", choices=("full", "small"), default="full")
    p.add_argument("--engine", default="tabulated",
                   help="forward-model engine of the fits (the mock always uses the exact one)")
    p.add_argument("--backend", choices=("numpyro", "blackjax"), default="numpyro")
    p.add_argument("--shamnet", default="", help="SHAMNet weights (default: the shipped ones)")
    p.add_argument("--mass-functions-only", action="store_true",
                   help="write only OUT/mass_functions/ (no mock, fits or comparison)")
    p.set_defaults(func=_cmd_demo)
    return p


def _cmd_demo(args) -> int:
    from .demo import mass_function_summary, run_demo

    if args.mass_functions_only:
        mass_function_summary(args.out / "mass_functions")
        return 0
    res = run_demo(args.out, size=args.size, engine=args.engine, backend=args.backend, shamnet=args.shamnet,
                   progress_bar=sys.stderr.isatty())
    for name, f in res.summary["fits"].items():
        c = f["convergence"]
        _print(f"{name}: R-hat max {c['rhat_max']:.3f}, ESS bulk min {c['ess_bulk_min']:.0f}, divergences "
               f"{c['divergences']}, theta_true inside the 95% interval: {f['coverage_95']}")
    _print(f"demo finished in {res.summary['seconds']['total']:.0f} s; outputs under {res.out_dir}")
    return 0


@register_command
def add_domain_parser(subparsers):
    p = subparsers.add_parser("domain", help="print SHAMNet's training domain and the default prior",
                              description="The range of log10 phi*, alpha, sigma_lo and sigma_hi over SHAMNet's "
                                          "training domain (App. D.2), the corners of its (log10 phi*, alpha) "
                                          "region (a rotated box cut at alpha <= alpha_max, not a rectangle) and "
                                          "the ranges of the default prior (prior.kind = \"domain\").")
    p.add_argument("--weights", type=Path, default=None, help="SHAMNet weights (default: the shipped ones)")
    p.set_defaults(func=_cmd_domain)
    return p


def _ranges_table(ranges: dict, digits: int = 4) -> list[str]:
    """Rows ``name  min  max``, rounded outwards so the printed range contains the exact one."""
    scale = 10.0 ** digits
    rows = [f"  {'parameter':<12} {'min':>10} {'max':>10}"]
    rows += [f"  {name:<12} {np.floor(lo * scale) / scale:>10.{digits}f} {np.ceil(hi * scale) / scale:>10.{digits}f}"
             for name, (lo, hi) in ranges.items()]
    return rows


def _cmd_domain(args) -> int:
    from ..inference.priors import THETA_NAMES, domain_prior, prior_corners
    from ..shamnet import default_weights_path, load_shamnet
    from ..shamnet.domain import domain_ranges, domain_vertices
    from .config import _FIT_SCHEMA

    path = default_weights_path() if args.weights is None else args.weights
    net = load_shamnet(path)
    dom = net.domain
    amax = float(dom.alpha_max)
    _print(f"SHAMNet training domain (App. D.2) of {path}:")
    for row in _ranges_table(domain_ranges(dom)):
        _print(row)
    corners = " ".join(f"({x:.4f}, {y:.4f})" for x, y in domain_vertices(dom))
    c, w = np.asarray(dom.center), np.asarray(dom.halfwidth)
    axes = np.asarray(dom.eigvecs).T
    _print(f"The (logphi_star, alpha) region is not a rectangle: it is a box rotated along the eigenvectors of the "
           f"SDSS-like posterior, cut at alpha <= {amax:g}, so the two ranges above are its projections (each value "
           "is reached, but not with every value of the other). Its corners (logphi_star, alpha):")
    _print(f"  {corners}")
    _print(f"  (box: center {c.round(4).tolist()}, half-widths {w.round(4).tolist()} along the axes "
           f"{axes.round(4).tolist()})")
    margin = _FIT_SCHEMA["prior"]["margin"].default
    corners4 = prior_corners(domain_prior(net=net, margin=margin))
    prior_ranges = {n: (float(corners4[:, i].min()), float(corners4[:, i].max())) for i, n in enumerate(THETA_NAMES)}
    _print(f"Default prior (prior.kind = \"domain\", margin = {margin}): uniform on the largest box along the same "
           "axes that respects the cut, each half-width shrunk by the margin; its ranges (projections):")
    for row in _ranges_table(prior_ranges):
        _print(row)
    return 0


@register_command
def add_config_template_parser(subparsers):
    from .templates import TEMPLATE_KINDS

    p = subparsers.add_parser("config-template", help="print a commented TOML configuration with every key",
                              description="Print the mock or fit configuration with every key set to its default "
                                          "(required keys: a working example) and a comment on each; redirect it "
                                          "to a file and edit it (see shaminfer.app.config).")
    p.add_argument("kind", choices=TEMPLATE_KINDS, help="which configuration")
    p.set_defaults(func=_cmd_config_template)
    return p


def _cmd_config_template(args) -> int:
    from .templates import config_template

    sys.stdout.write(config_template(args.kind))
    sys.stdout.flush()
    return 0


@register_command
def add_train_shamnet_parser(subparsers):
    from .train_shamnet import add_train_parser

    return add_train_parser(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The ``shaminfer`` parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="shaminfer", description=(
        "Exact, differentiable SHAM predictions of galaxy clustering and lensing, with HMC inference."))
    parser.add_argument("--version", action="version", version=f"shaminfer {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show Python tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for adder in _COMMANDS:
        adder(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line; an ``OSError`` as ``<file>: <what went wrong>``."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        other = f" -> {exc.filename2}" if exc.filename2 is not None else ""
        msg = f"{exc.filename}{other}: {exc.strerror}"
    else:
        msg = str(exc) or type(exc).__name__
    return " ".join(msg.split("\n"))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``shaminfer`` console script; returns the exit status.

    0 on success (``--help`` and ``--version`` too), 2 for a bad argument or
    input (one message on stderr), 1 for an unexpected error (one line naming
    its type; ``--traceback`` re-raises it), 130 on Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or argparse's usage error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    code = _run(parser, args)
    parallel.abort_job(code)  # under MPI a failing rank ends the whole job instead of leaving the others waiting
    return code


def _run(parser, args) -> int:
    from .. import configure_jax

    configure_jax()
    err = sys.stderr
    try:
        if parallel.size() > 1:  # under MPI rank 0 alone reports progress; errors print on every rank, tagged
            err = sys.__stderr__
            if not parallel.is_root():
                sys.stdout = sys.stderr = open(os.devnull, "w")
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"shaminfer {args.command}: interrupted; the files written so far are valid, and rerunning "
              "the same command resumes", file=err)
        return 130
    except (ValueError, OSError) as exc:  # FileNotFoundError, IsADirectoryError, PermissionError, ...
        if args.traceback:
            raise
        print(f"shaminfer {args.command}{_rank_tag()}: error: {_one_line(exc)}", file=err)
        return 2
    except Exception as exc:
        if args.traceback:
            raise
        print(f"shaminfer {args.command}{_rank_tag()}: unexpected error ({type(exc).__name__}: {_one_line(exc)}); "
              f"rerun as `shaminfer --traceback {args.command} ...` to see where, and report it", file=err)
        return 1


def _rank_tag() -> str:
    try:
        return f" [rank {parallel.rank()} of {parallel.size()}]" if parallel.size() > 1 else ""
    except ValueError:  # mpi4py missing under a launcher: the error itself says so
        return ""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
