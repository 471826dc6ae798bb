"""Colour SMF terms and the shear-bias nuisance wrapper."""
import jax
import numpy as np
import pytest

from shaminfer.inference.model_terms import SMFColorTerm, shear_bias_block, with_shear_bias
from shaminfer.inference.terms import DeltaSigmaTerm, PoissonTerm, as_student_t
from shaminfer.stats import Predictions

OUT = Predictions(smf=np.arange(3.0), wp=np.zeros((1, 2)), delta_sigma=np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 7.0]]),
                  smf_color=np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]]))


class Theta(tuple):
    """Stand-in flat theta with one field ``m``."""

    _fields = ("m",)

    @property
    def m(self):
        return self[0]


def test_smf_color_term_predicts_its_colour_row():
    t = SMFColorTerm(np.ones(3), np.eye(3), color_index=1, name="smf_blue")
    np.testing.assert_array_equal(t.predict(None, OUT), [10.0, 20.0, 30.0])
    with pytest.raises(ValueError, match="color_index: expected a non-negative int, found -1"):
        SMFColorTerm(np.ones(3), np.eye(3), color_index=-1)


def test_shear_bias_scales_the_prediction_keeps_the_class_and_differentiates():
    ds = DeltaSigmaTerm(np.ones(3), np.eye(3), samples=[1])
    biased = with_shear_bias(ds, param="m")
    assert isinstance(biased, DeltaSigmaTerm) and biased.samples == (1,) and biased.name == "delta_sigma"
    assert biased.blocks[0].fields == ("m",) and biased.blocks[0].prior["m"] == (-0.05, 0.05)
    np.testing.assert_allclose(biased.predict(Theta((0.1,)), OUT), 1.1 * np.array([3.0, 5.0, 7.0]))
    d = jax.jacfwd(lambda m: biased.predict(Theta((m,)), OUT))(0.02)
    np.testing.assert_allclose(d, [3.0, 5.0, 7.0])
    assert not hasattr(ds, "blocks")  # the original term is unchanged
    t = with_shear_bias(as_student_t(ds, 5.0), param="m_hsc")
    assert t.family == "student_t" and t.blocks[0].name == "shear_bias_m_hsc"


def test_shear_bias_refusals():
    with pytest.raises(ValueError, match="expected a GaussianTerm"):
        with_shear_bias(PoissonTerm("n", np.array([1, 2]), lambda th, out: out.smf[:2]))
    with pytest.raises(ValueError, match="identifier"):
        shear_bias_block("1m")
    with pytest.raises(ValueError, match=r"prior \[-0.5, 0.5\] inside the bounds \[-0.3, 0.3\]"):
        shear_bias_block("m", prior=(-0.5, 0.5))
