"""Training of SHAMNet (App. D.2-D.3), one module per stage and technique.

* :mod:`~shaminfer.shamnet.training.config`: :class:`TrainConfig`, every option, and their checks;
* :mod:`~shaminfer.shamnet.training.phase1`: phase 1 (App. D.2): three-roll fits (Eq. C3), then Eq. D3;
* :mod:`~shaminfer.shamnet.training.distil`: phase 1 by distillation from a trained network (a deviation);
* :mod:`~shaminfer.shamnet.training.phase2`: phase 2 (App. D.3): Eq. D4 with early stopping, the tail term,
  warm-up, face-crowded batches and the wall-time budget;
* :mod:`~shaminfer.shamnet.training.monotonicity`: the slope hinge and the monotonicity check of phase 2;
* :mod:`~shaminfer.shamnet.training.mining`: hard-theta mining for phase 2's batches;
* :mod:`~shaminfer.shamnet.training.common`: casts, batches of theta and the Adam step every stage shares;
* :mod:`~shaminfer.shamnet.training.cards`: the model card (lineage, architecture, domain, accuracy);
* :mod:`~shaminfer.shamnet.training.run`: :func:`train_shamnet`, one run from scratch, by distillation or as a warm start.

The command line (``shaminfer train-shamnet``) lives in :mod:`shaminfer.app.train_shamnet`.
"""
from .common import cast_floating, init_network
from .config import DEFAULT_TRAIN_CONFIG, TrainConfig, check_config
from .distil import train_distil
from .monotonicity import monotonicity_guard_theta
from .phase1 import fit_smhm_batch, train_phase1
from .phase2 import train_phase2
from .run import TrainResult, train_shamnet

__all__ = [
    "TrainConfig",
    "DEFAULT_TRAIN_CONFIG",
    "check_config",
    "TrainResult",
    "cast_floating",
    "init_network",
    "fit_smhm_batch",
    "train_phase1",
    "train_distil",
    "train_phase2",
    "monotonicity_guard_theta",
    "train_shamnet",
]
