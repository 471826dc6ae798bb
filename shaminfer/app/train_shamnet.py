"""``shaminfer train-shamnet``: rerun SHAMNet's training (App. D.2-D.3) and write weights plus a model card.

The command-line shell of :func:`shaminfer.shamnet.training.train_shamnet`:
each flag sets one field of :class:`~shaminfer.shamnet.training.TrainConfig`
(or chooses a warm start, ``--init``, or a distillation, ``--distil``); bad
values print one message naming the flag, what was expected and what was
found, and exit with status 2. The command line is recorded in the model card,
so every shipped network's card holds the command that rebuilds it.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, NamedTuple

__all__ = ["add_train_parser", "run_train"]


class _Check(NamedTuple):
    """A test of a flag's value and what the error message says the flag expects."""

    ok: Callable | None
    """None: any value argparse accepted."""
    expected: str | None


_ANY = _Check(None, None)
_POSITIVE_INT = _Check(lambda v: v >= 1, "a positive integer")
_NON_NEGATIVE_INT = _Check(lambda v: v >= 0, "a non-negative integer")
_POSITIVE_STEP = _Check(lambda v: v > 0, "a positive step size")
_FRACTION = _Check(lambda v: 0 <= v <= 1, "a fraction in [0, 1]")


class _ConfigFlag(NamedTuple):
    """A flag that sets the :class:`~shaminfer.shamnet.training.TrainConfig` field ``field``."""

    flag: str
    field: str
    kind: type | tuple  # the argparse type, or a tuple of choices
    check: _Check
    help: str


_APP_D = "(default: TrainConfig, the App. D recipe)"
_CONFIG_FLAGS = (
    _ConfigFlag("--max-steps", "max_steps", int, _POSITIVE_INT, f"phase-2 step cap {_APP_D}"),
    _ConfigFlag("--lr", "lr", float, _POSITIVE_STEP, f"phase-2 initial Adam step size {_APP_D}"),
    _ConfigFlag("--patience", "patience", int, _ANY, "phase-2 early stopping: validation checks without improvement"),
    _ConfigFlag("--mono-weight", "mono_weight", float, _ANY, f"weight of the SMHM slope hinge {_APP_D}"),
    _ConfigFlag("--mono-min-slope", "mono_min_slope", float, _ANY, f"slope below which the hinge acts {_APP_D}"),
    _ConfigFlag("--batch", "batch", int, _POSITIVE_INT, f"phase-2 theta per Adam step {_APP_D}"),
    _ConfigFlag("--tail-weight", "tail_weight", float, _Check(lambda v: v >= 0, "a non-negative weight"),
                "phase 2 adds this times mean(|Delta|^p)^(2/p) to Eq. D4, pulling down the worst residuals (default 0: off)"),
    _ConfigFlag("--tail-power", "tail_power", float, _Check(lambda v: v > 2, "a power > 2"),
                "the p of --tail-weight (default 8; must exceed 2)"),
    _ConfigFlag("--dtype", "dtype", ("float32", "float64"), _ANY,
                "floating type of the training steps (default float32; validation and accuracy are always float64)"),
    _ConfigFlag("--warmup", "warmup_steps", int, _NON_NEGATIVE_INT,
                "phase-2 steps of linear step-size warm-up before the cosine decay (default 0)"),
    _ConfigFlag("--face-fraction", "face_fraction", float, _FRACTION,
                "fraction of each phase-2 batch drawn with sigma_lo, sigma_hi crowded towards 0.1 and 0.5 (default 0)"),
    _ConfigFlag("--face-power", "face_power", float, _Check(lambda v: v >= 1, "a power >= 1"),
                "how strongly --face-fraction crowds sigma to the faces: density ~ |t|^(p-1) (default 3; must be >= 1)"),
    _ConfigFlag("--mono-guard-faces", "mono_guard_faces", int, _NON_NEGATIVE_INT,
                "with --require-monotonic, also check this many theta crowded towards the sigma faces (default 0)"),
    _ConfigFlag("--mono-batch", "mono_batch", int, _NON_NEGATIVE_INT,
                "face-crowded theta per phase-2 step that enter only the slope hinge of --mono-weight (default 0)"),
    _ConfigFlag("--hard-fraction", "hard_fraction", float, _FRACTION,
                "fraction of each phase-2 batch drawn from the mined hardest theta (default 0: off)"),
    _ConfigFlag("--hard-pool", "hard_pool", int, _POSITIVE_INT, "with --hard-fraction, how many of the worst mined theta are kept (default 256)"),
    _ConfigFlag("--hard-candidates", "hard_candidates", int, _POSITIVE_INT, "with --hard-fraction, fresh theta ranked at each mining (default 4000)"),
    _ConfigFlag("--hard-every", "hard_every", int, _POSITIVE_INT, "with --hard-fraction, phase-2 steps between minings (default 250)"),
    _ConfigFlag("--max-seconds", "max_seconds", float, _Check(lambda v: v >= 0, "a non-negative number of seconds"),
                "phase-2 wall-time budget: stop at the first validation check after this many seconds (default 0: none)"),
    _ConfigFlag("--stop-after", "stop_after_steps", int, _NON_NEGATIVE_INT,
                "stop phase 2 at the first check at or after this step, keeping the --max-steps schedule "
                "(reproduces a run that --max-seconds stopped; default 0: off)"),
    _ConfigFlag("--val-every", "val_every", int, _POSITIVE_INT, "phase-2 steps between validation checks (default 250)"),
    _ConfigFlag("--n-val", "n_val", int, _POSITIVE_INT,
                "phase-2 held-out theta of each validation check (default 64; a larger set ranks checks by the tail better)"),
    _ConfigFlag("--arch", "arch", ("mlp", "basis"), _ANY,
                "network of a new run: 'mlp' (App. D.1, log10 Mpeak as fifth input; default) or 'basis' (an MLP of "
                "theta gives non-negative weights of a sigmoid basis in log10 Mpeak: monotone by construction)"),
    _ConfigFlag("--knots", "knots", int, _Check(lambda v: v >= 2, "at least 2 knots"),
                "with --arch basis, number of sigmoid knots (default 96)"),
    _ConfigFlag("--distil-steps", "distil_steps", int, _POSITIVE_INT, "Adam steps of --distil (default 3000)"),
    _ConfigFlag("--distil-lr", "distil_lr", float, _POSITIVE_STEP, "initial Adam step size of --distil (default 1e-3)"),
)
"""Every flag that sets one configuration field, with its check; ``run_train`` applies them in this order."""


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``train-shamnet`` subcommand on an argparse subparsers object; its ``func`` is :func:`run_train`."""
    p = subparsers.add_parser(
        "train-shamnet",
        help="train SHAMNet in two phases (App. D) and write weights + model card",
        description="Rerun both SHAMNet training phases (App. D.2-D.3) and write DIR/shamnet.npz and DIR/shamnet.json.",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for the domain posterior, fits and batches")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--init", default=None, help="warm start: continue phase 2 from these weights (skips phase 1)")
    p.add_argument("--require-monotonic", action="store_true", help="phase 2 keeps only weights monotonic on 256 held-out theta")
    p.add_argument("--hidden", default=None,
                   help="hidden layer widths, comma-separated (default 64,32,8,4 as in App. D.1); with --init, widen the "
                        "warm-start network to these widths without changing its predictions")
    p.add_argument("--distil", default=None,
                   help="phase 1 regresses the new network on the SMHM of these weights (Eq. D3) instead of three-roll fits")
    for f in _CONFIG_FLAGS:
        kind = dict(choices=f.kind) if isinstance(f.kind, tuple) else dict(type=f.kind)
        p.add_argument(f.flag, dest=f.field, default=None, help=f.help, **kind)
    p.add_argument("--quick", action="store_true", help="tiny configuration for smoke tests (not accurate)")
    p.set_defaults(func=run_train)
    return p


def run_train(args) -> int:
    """Check the parsed ``train-shamnet`` flags, build the configuration and train; return the exit status (2: a bad flag)."""
    from .. import configure_jax

    configure_jax()
    from ..shamnet.training import DEFAULT_TRAIN_CONFIG, TrainConfig, train_shamnet

    cfg = DEFAULT_TRAIN_CONFIG
    if args.quick:
        cfg = TrainConfig(
            posterior_warmup=100, posterior_samples=300, n_fit_theta=12, fit_center_steps=200, fit_steps=50, fit_loss_max=10.0,
            init_steps=100, max_steps=40, val_every=20, n_val=8, n_accuracy=20,
            distil_steps=20, distil_batch=8,
        )
    if args.hidden is not None:
        try:
            hidden = tuple(int(h) for h in args.hidden.split(","))
        except ValueError:
            hidden = ()
        if not hidden or min(hidden) < 1:
            print(f"error: --hidden: expected comma-separated positive layer widths such as 64,32,8,4, found {args.hidden!r}",
                  file=sys.stderr)
            return 2
        cfg = cfg._replace(hidden=hidden)
    widen = None
    for f in _CONFIG_FLAGS:
        value = getattr(args, f.field)
        if value is None:
            continue
        if f.check.ok is not None and not f.check.ok(value):
            print(f"error: {f.flag}: expected {f.check.expected}, found {value}", file=sys.stderr)
            return 2
        cfg = cfg._replace(**{f.field: value})
    if cfg.warmup_steps >= cfg.max_steps:
        print(f"error: --warmup: expected fewer steps than --max-steps ({cfg.max_steps}), found {cfg.warmup_steps}", file=sys.stderr)
        return 2
    if cfg.mono_batch > 0 and cfg.mono_weight <= 0:
        print(f"error: --mono-batch: theta that enter only the slope hinge need --mono-weight > 0, found {cfg.mono_weight}",
              file=sys.stderr)
        return 2
    if cfg.face_fraction + cfg.hard_fraction > 1 + 1e-12:
        print(f"error: --hard-fraction: expected at most 1 - --face-fraction = {1 - cfg.face_fraction:g}, found {cfg.hard_fraction}",
              file=sys.stderr)
        return 2
    if cfg.hard_pool > cfg.hard_candidates:
        print(f"error: --hard-pool: expected at most --hard-candidates ({cfg.hard_candidates}), found {cfg.hard_pool}", file=sys.stderr)
        return 2
    if args.require_monotonic:
        cfg = cfg._replace(require_monotonic=True)
    for flag, path in (("--init", args.init), ("--distil", args.distil)):
        if path is not None and not os.path.exists(path):
            print(f"error: {flag}: expected an existing weights file, found {path!r}", file=sys.stderr)
            return 2
    if args.init is not None and (args.distil is not None or args.arch is not None or args.knots is not None):
        print("error: --init: a warm start keeps its network's architecture; --distil, --arch and --knots start a new "
              "network, found them together", file=sys.stderr)
        return 2
    if args.knots is not None and cfg.arch != "basis":
        print(f"error: --knots: expected --arch basis, found --arch {cfg.arch}", file=sys.stderr)
        return 2
    if args.arch == "basis" and args.hidden is None:
        from ..shamnet.network import DEFAULT_BASIS_HIDDEN

        cfg = cfg._replace(hidden=DEFAULT_BASIS_HIDDEN)
    if args.init is not None and args.hidden is not None:
        from ..shamnet.io import load_shamnet
        from ..shamnet.network import hidden_widths, widens

        old = hidden_widths(load_shamnet(args.init))
        if not widens(old, cfg.hidden):
            print(f"error: --hidden: with --init, expected {len(old)} widths each at least those of the warm-start "
                  f"network {','.join(map(str, old))}, found {args.hidden!r}", file=sys.stderr)
            return 2
        widen = cfg.hidden
    command = "shaminfer " + " ".join(sys.argv[1:]) if os.path.basename(sys.argv[0]) == "shaminfer" else None
    train_shamnet(args.seed, args.out, cfg=cfg, command=command, init=args.init, widen=widen, distil=args.distil)
    return 0
