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
    p.add_argument("--quick", action="store_true", help="tiny configuration for smoke tests (not accurate)")
    p.set_defaults(func=run_train)
    return p


def run_train(args) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    from .train import DEFAULT_TRAIN_CONFIG, TrainConfig, train_shamnet

    cfg = DEFAULT_TRAIN_CONFIG
    if args.quick:
        cfg = TrainConfig(
            posterior_warmup=100, posterior_samples=300, n_fit_theta=12, fit_center_steps=200, fit_steps=50,
            init_steps=100, max_steps=40, val_every=20, n_val=8, n_accuracy=20,
        )
    if args.max_steps is not None:
        if args.max_steps < 1:
            print(f"error: --max-steps: expected a positive integer, found {args.max_steps}", file=sys.stderr)
            return 2
        cfg = cfg._replace(max_steps=args.max_steps)
    command = "shaminfer " + " ".join(sys.argv[1:]) if os.path.basename(sys.argv[0]) == "shaminfer" else None
    train_shamnet(args.seed, args.out, cfg=cfg, command=command)
    return 0
