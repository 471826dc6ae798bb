"""TrainConfig's checks name the field, what was expected and what was found."""
import pytest

from shaminfer.shamnet.training import DEFAULT_TRAIN_CONFIG, check_config
from shaminfer.shamnet.training.config import batch_split


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(warmup_steps=15000), "warmup_steps: expected fewer than max_steps = 15000, found 15000"),
        (dict(mono_batch=4), "mono_batch: theta that enter only the slope hinge need mono_weight > 0, found mono_weight = 0.0"),
        (dict(batch=10, face_fraction=0.6, hard_fraction=0.5),
         r"hard_fraction: expected face_fraction \+ hard_fraction <= 1 \(6 \+ 5 theta of a batch of 10\), found 0.6 \+ 0.5"),
        (dict(hard_fraction=0.2, hard_pool=5000), "hard_pool: expected 1 <= hard_pool <= hard_candidates and hard_every >= 1, found hard_pool = 5000"),
        (dict(hard_fraction=0.2, hard_every=0), "hard_pool: .*hard_every = 0"),
    ],
)
def test_check_config_names_the_bad_field(change, message):
    with pytest.raises(ValueError, match=message):
        check_config(DEFAULT_TRAIN_CONFIG._replace(**change))


def test_defaults_are_valid_and_batches_split_by_fraction():
    check_config(DEFAULT_TRAIN_CONFIG)
    assert batch_split(DEFAULT_TRAIN_CONFIG) == (0, 0)
    assert batch_split(DEFAULT_TRAIN_CONFIG._replace(batch=100, face_fraction=0.4, hard_fraction=0.2)) == (40, 20)
    # mining off: its pool options are not checked
    check_config(DEFAULT_TRAIN_CONFIG._replace(hard_pool=5000))
