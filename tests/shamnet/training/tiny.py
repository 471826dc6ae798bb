"""A tiny training configuration shared by the training tests: mechanics only, not accuracy."""
from shaminfer.shamnet.training import TrainConfig

# a loose loss cut so that a handful of short fits initialize the network
CFG = TrainConfig(n_fit_theta=6, fit_center_steps=60, fit_steps=20, fit_loss_max=10.0, init_steps=60, init_batch=6, max_steps=30, batch=4,
                  val_every=10, n_val=4, patience=100, require_monotonic=False)


def val_history(info):
    """The validation objective at each check of a phase-2 run's ``info``."""
    import numpy as np

    return np.array([h[2] for h in info["history"]])
