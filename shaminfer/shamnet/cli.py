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
    p.add_argument("--max-steps", type=int, default=None, help="phase-2 step cap (default: TrainConfig, the App. D recipe)")
    p.add_argument("--lr", type=float, default=None, help="phase-2 initial Adam step size (default: TrainConfig, the App. D recipe)")
    p.add_argument("--init", default=None, help="warm start: continue phase 2 from these weights (skips phase 1 and the supervised stage)")
    p.add_argument("--patience", type=int, default=None, help="phase-2 early stopping: validation checks without improvement")
    p.add_argument("--mono-weight", type=float, default=None, help="weight of the SMHM slope hinge (default: TrainConfig, the App. D recipe)")
    p.add_argument("--mono-min-slope", type=float, default=None, help="slope below which the hinge acts (default: TrainConfig, the App. D recipe)")
    p.add_argument("--sup-steps", type=int, default=None, help="steps of the supervised stage on exact SMHMs (default 0: off)")
    p.add_argument("--require-monotonic", action="store_true", help="phase 2 keeps only weights monotonic on 256 held-out theta")
    p.add_argument("--hidden", default=None,
                   help="hidden layer widths, comma-separated (default 64,32,8,4 as in App. D.1); with --init, widen the "
                        "warm-start network to these widths without changing its predictions")
    p.add_argument("--batch", type=int, default=None, help="phase-2 theta per Adam step (default: TrainConfig, the App. D recipe)")
    p.add_argument("--tail-weight", type=float, default=None,
                   help="phase 2 adds this times mean(|Delta|^p)^(2/p) to Eq. D4, pulling down the worst residuals (default 0: off)")
    p.add_argument("--tail-power", type=float, default=None, help="the p of --tail-weight (default 8; must exceed 2)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="floating type of the training steps (default float32; validation and accuracy are always float64)")
    p.add_argument("--warmup", type=int, default=None, dest="warmup_steps",
                   help="phase-2 steps of linear step-size warm-up before the cosine decay (default 0)")
    p.add_argument("--face-fraction", type=float, default=None,
                   help="fraction of each phase-2 batch drawn with sigma_lo, sigma_hi crowded towards 0.1 and 0.5 (default 0)")
    p.add_argument("--face-power", type=float, default=None,
                   help="how strongly --face-fraction crowds sigma to the faces: density ~ |t|^(p-1) (default 3; must be >= 1)")
    p.add_argument("--mono-guard-faces", type=int, default=None,
                   help="with --require-monotonic, also check this many theta crowded towards the sigma faces (default 0)")
    p.add_argument("--mono-batch", type=int, default=None,
                   help="face-crowded theta per phase-2 step that enter only the slope hinge of --mono-weight (default 0)")
    p.add_argument("--mono-points", type=int, default=None,
                   help="log10 Mpeak points on 10..15.5 of the --mono-batch hinge and the --require-monotonic check "
                        "(default 0: the hinge on the training grid, the check on 221 points)")
    p.add_argument("--mono-mine", type=int, default=None,
                   help="with --mono-batch, every --hard-every steps rank this many fresh face-crowded theta by their smallest "
                        "SMHM slope and draw half of each step's hinge-only theta from the --mono-batch lowest (default 0: off)")
    p.add_argument("--hard-fraction", type=float, default=None,
                   help="fraction of each phase-2 batch drawn from the mined hardest theta (default 0: off)")
    p.add_argument("--hard-pool", type=int, default=None,
                   help="with --hard-fraction, how many of the worst mined theta are kept (default 256)")
    p.add_argument("--hard-candidates", type=int, default=None,
                   help="with --hard-fraction, fresh theta ranked at each mining (default 4000)")
    p.add_argument("--hard-every", type=int, default=None,
                   help="with --hard-fraction, phase-2 steps between minings (default 250)")
    p.add_argument("--keep-last", action="store_true",
                   help="phase 2 keeps the weights of its last monotonic validation check, not those with the best validation")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="phase-2 wall-time budget: stop at the first validation check after this many seconds (default 0: none)")
    p.add_argument("--stop-after", type=int, default=None, dest="stop_after_steps",
                   help="stop phase 2 at the first check at or after this step, keeping the --max-steps schedule "
                        "(reproduces a run that --max-seconds stopped; default 0: off)")
    p.add_argument("--val-every", type=int, default=None,
                   help="phase-2 steps between validation checks (default 250)")
    p.add_argument("--n-val", type=int, default=None,
                   help="phase-2 held-out theta of each validation check (default 64; a larger set ranks checks by the tail better)")
    p.add_argument("--arch", choices=("mlp", "basis"), default=None,
                   help="network of a new run: 'mlp' (App. D.1, log10 Mpeak as fifth input; default) or 'basis' (an MLP of "
                        "theta gives non-negative weights of a sigmoid basis in log10 Mpeak: monotone by construction)")
    p.add_argument("--knots", type=int, default=None, help="with --arch basis, number of sigmoid knots (default 96)")
    p.add_argument("--distil", default=None,
                   help="phase 1 regresses the new network on the SMHM of these weights (Eq. D3) instead of three-roll fits")
    p.add_argument("--distil-steps", type=int, default=None, help="Adam steps of --distil (default 3000)")
    p.add_argument("--distil-lr", type=float, default=None, help="initial Adam step size of --distil (default 1e-3)")
    p.add_argument("--distil-slope-weight", type=float, default=None,
                   help="--distil also matches the SMHM's slope d log10 M* / d log10 Mpeak, with this weight (default 0)")
    p.add_argument("--distil-range", default=None,
                   help="LO,HI: --distil weights nodes whose teacher log10 M* lies outside (LO, HI) by 0.01 (default: all 1)")
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
    if args.distil_range is not None:
        try:
            lo, hi = (float(x) for x in args.distil_range.split(","))
        except ValueError:
            lo = hi = float("nan")
        if not lo < hi:
            print(f"error: --distil-range: expected LO,HI with LO < HI such as 7,14, found {args.distil_range!r}", file=sys.stderr)
            return 2
        cfg = cfg._replace(distil_x_range=(lo, hi))
    widen = None
    # (config field, flag, check, what the flag expects); None: any value argparse accepted
    flags = [
        ("max_steps", "--max-steps", lambda v: v >= 1, "a positive integer"),
        ("lr", "--lr", lambda v: v > 0, "a positive step size"),
        ("batch", "--batch", lambda v: v >= 1, "a positive integer"),
        ("tail_weight", "--tail-weight", lambda v: v >= 0, "a non-negative weight"),
        ("tail_power", "--tail-power", lambda v: v > 2, "a power > 2"),
        ("dtype", "--dtype", None, None),
        ("warmup_steps", "--warmup", lambda v: v >= 0, "a non-negative integer"),
        ("face_fraction", "--face-fraction", lambda v: 0 <= v <= 1, "a fraction in [0, 1]"),
        ("face_power", "--face-power", lambda v: v >= 1, "a power >= 1"),
        ("mono_guard_faces", "--mono-guard-faces", lambda v: v >= 0, "a non-negative integer"),
        ("mono_batch", "--mono-batch", lambda v: v >= 0, "a non-negative integer"),
        ("mono_points", "--mono-points", lambda v: v == 0 or v >= 2, "0 or at least 2 points"),
        ("mono_mine", "--mono-mine", lambda v: v >= 0, "a non-negative integer"),
        ("hard_fraction", "--hard-fraction", lambda v: 0 <= v <= 1, "a fraction in [0, 1]"),
        ("hard_pool", "--hard-pool", lambda v: v >= 1, "a positive integer"),
        ("hard_candidates", "--hard-candidates", lambda v: v >= 1, "a positive integer"),
        ("hard_every", "--hard-every", lambda v: v >= 1, "a positive integer"),
        ("max_seconds", "--max-seconds", lambda v: v >= 0, "a non-negative number of seconds"),
        ("stop_after_steps", "--stop-after", lambda v: v >= 0, "a non-negative integer"),
        ("val_every", "--val-every", lambda v: v >= 1, "a positive integer"),
        ("n_val", "--n-val", lambda v: v >= 1, "a positive integer"),
        ("arch", "--arch", None, None),
        ("knots", "--knots", lambda v: v >= 2, "at least 2 knots"),
        ("distil_steps", "--distil-steps", lambda v: v >= 1, "a positive integer"),
        ("distil_lr", "--distil-lr", lambda v: v > 0, "a positive step size"),
        ("distil_slope_weight", "--distil-slope-weight", lambda v: v >= 0, "a non-negative weight"),
        ("mono_weight", "--mono-weight", None, None),
        ("mono_min_slope", "--mono-min-slope", None, None),
        ("sup_steps", "--sup-steps", None, None),
        ("patience", "--patience", None, None),
    ]
    for field, flag, ok, expected in flags:
        value = getattr(args, field)
        if value is None:
            continue
        if ok is not None and not ok(value):
            print(f"error: {flag}: expected {expected}, found {value}", file=sys.stderr)
            return 2
        cfg = cfg._replace(**{field: value})
    if cfg.warmup_steps >= cfg.max_steps:
        print(f"error: --warmup: expected fewer steps than --max-steps ({cfg.max_steps}), found {cfg.warmup_steps}", file=sys.stderr)
        return 2
    if cfg.mono_batch > 0 and cfg.mono_weight <= 0:
        print(f"error: --mono-batch: theta that enter only the slope hinge need --mono-weight > 0, found {cfg.mono_weight}",
              file=sys.stderr)
        return 2
    if cfg.mono_mine > 0 and not 2 <= cfg.mono_batch <= cfg.mono_mine:
        print(f"error: --mono-mine: expected at least --mono-batch ({cfg.mono_batch}) candidates, with --mono-batch >= 2, "
              f"found {cfg.mono_mine}", file=sys.stderr)
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
    if args.keep_last:
        cfg = cfg._replace(keep_last=True)
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
        from .network import DEFAULT_BASIS_HIDDEN

        cfg = cfg._replace(hidden=DEFAULT_BASIS_HIDDEN)
    if args.init is not None and args.hidden is not None:
        from .io import load_shamnet
        from .network import hidden_widths, widens

        old = hidden_widths(load_shamnet(args.init))
        if not widens(old, cfg.hidden):
            print(f"error: --hidden: with --init, expected {len(old)} widths each at least those of the warm-start "
                  f"network {','.join(map(str, old))}, found {args.hidden!r}", file=sys.stderr)
            return 2
        widen = cfg.hidden
    command = "shaminfer " + " ".join(sys.argv[1:]) if os.path.basename(sys.argv[0]) == "shaminfer" else None
    train_shamnet(args.seed, args.out, cfg=cfg, command=command, init=args.init, widen=widen, distil=args.distil)
    return 0
