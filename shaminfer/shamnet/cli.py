"""``shaminfer train-shamnet``: rerun both training phases and write weights plus a model card."""
from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_train_parser", "run_train"]


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``train-shamnet`` subcommand on an argparse subparsers object."""
    p = subparsers.add_parser(
        "train-shamnet",
        help="train SHAMNet in two phases (App. D) and write weights + model card",
        description="Rerun both SHAMNet training phases (App. D.2-D.3) and write DIR/shamnet.npz and DIR/shamnet.json.",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed for the domain posterior, fits and batches")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--max-steps", type=int, default=None, help="phase-2 step cap (default: the shipped configuration)")
    p.add_argument("--lr", type=float, default=None, help="phase-2 initial Adam step size (default: the shipped configuration)")
    p.add_argument("--init", default=None, help="warm start: continue phase 2 from these weights (skips phase 1 and the supervised stage)")
    p.add_argument("--patience", type=int, default=None, help="phase-2 early stopping: validation checks without improvement")
    p.add_argument("--mono-weight", type=float, default=None, help="weight of the SMHM slope hinge (default: the shipped configuration)")
    p.add_argument("--mono-min-slope", type=float, default=None, help="slope below which the hinge acts (default: the shipped configuration)")
    p.add_argument("--sup-steps", type=int, default=None, help="steps of the supervised stage on exact SMHMs (default 0: off)")
    p.add_argument("--require-monotonic", action="store_true", help="phase 2 keeps only weights monotonic on 256 held-out theta")
    p.add_argument("--hidden", default=None,
                   help="hidden layer widths, comma-separated (default 64,32,8,4 as in App. D.1; ignored with --init)")
    p.add_argument("--batch", type=int, default=None, help="phase-2 theta per Adam step (default: the shipped configuration)")
    p.add_argument("--tail-weight", type=float, default=None,
                   help="phase 2 adds this times mean(|Delta|^p)^(2/p) to Eq. D4, pulling down the worst residuals (default 0: off)")
    p.add_argument("--tail-power", type=float, default=None, help="the p of --tail-weight (default 8; must exceed 2)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="floating type of the training steps (default float32; validation and accuracy are always float64)")
    p.add_argument("--quick", action="store_true", help="tiny configuration for smoke tests (not accurate)")
    p.set_defaults(func=run_train)
    return p


def run_train(args) -> int:
    from .. import configure_jax

    configure_jax()
    from .train import DEFAULT_TRAIN_CONFIG, TrainConfig, train_shamnet

    cfg = DEFAULT_TRAIN_CONFIG
    if args.quick:
        cfg = TrainConfig(
            posterior_warmup=100, posterior_samples=300, n_fit_theta=12, fit_center_steps=200, fit_steps=50, fit_loss_max=10.0,
            init_steps=100, n_sup_theta=8, sup_iter=5, sup_steps=20, max_steps=40, val_every=20, n_val=8, n_accuracy=20,
        )
    if args.max_steps is not None:
        if args.max_steps < 1:
            print(f"error: --max-steps: expected a positive integer, found {args.max_steps}", file=sys.stderr)
            return 2
        cfg = cfg._replace(max_steps=args.max_steps)
    if args.lr is not None:
        if not args.lr > 0:
            print(f"error: --lr: expected a positive step size, found {args.lr}", file=sys.stderr)
            return 2
        cfg = cfg._replace(lr=args.lr)
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
    if args.batch is not None:
        if args.batch < 1:
            print(f"error: --batch: expected a positive integer, found {args.batch}", file=sys.stderr)
            return 2
        cfg = cfg._replace(batch=args.batch)
    if args.tail_weight is not None:
        if not args.tail_weight >= 0:
            print(f"error: --tail-weight: expected a non-negative weight, found {args.tail_weight}", file=sys.stderr)
            return 2
        cfg = cfg._replace(tail_weight=args.tail_weight)
    if args.tail_power is not None:
        if not args.tail_power > 2:
            print(f"error: --tail-power: expected a power > 2, found {args.tail_power}", file=sys.stderr)
            return 2
        cfg = cfg._replace(tail_power=args.tail_power)
    if args.dtype is not None:
        cfg = cfg._replace(dtype=args.dtype)
    if args.mono_weight is not None:
        cfg = cfg._replace(mono_weight=args.mono_weight)
    if args.mono_min_slope is not None:
        cfg = cfg._replace(mono_min_slope=args.mono_min_slope)
    if args.sup_steps is not None:
        cfg = cfg._replace(sup_steps=args.sup_steps)
    if args.require_monotonic:
        cfg = cfg._replace(require_monotonic=True)
    if args.patience is not None:
        cfg = cfg._replace(patience=args.patience)
    if args.init is not None and not os.path.exists(args.init):
        print(f"error: --init: expected an existing weights file, found {args.init!r}", file=sys.stderr)
        return 2
    command = "shaminfer " + " ".join(sys.argv[1:]) if os.path.basename(sys.argv[0]) == "shaminfer" else None
    train_shamnet(args.seed, args.out, cfg=cfg, command=command, init=args.init)
    return 0
