"""Research instruments for any Keras model (TensorFlow backend): curvature, gradient noise,
trainability at initialisation.

Functions to call in a notebook on a model and a batch, and that the instrumentation runs on
a schedule (``logging.dynamics``, :mod:`nnkit.dynamics.callback`):

==================================  ===============================================
:func:`sharpness`                   λ_max of the loss Hessian (Lanczos or power, on
                                    Hessian-vector products)
:func:`hessian_trace`               tr(H), Hutchinson's estimator
:func:`sharpness_limit`             the optimizer's stability threshold: 2/η, (2+2β)/η, ...
:func:`gradient_noise_scale`        B_simple = tr(Σ)/|G|², per-layer GSNR and variance
:func:`jacobian_spectrum`           singular values of the input-output Jacobian
:func:`signal_propagation`          q^l and c^l through depth
:func:`effective_rank`              exp of the entropy of normalised singular values
==================================  ===============================================

Example::

    import nnkit.dynamics as dyn
    lam = dyn.sharpness(model, x[:1000], y[:1000])
    print(lam, dyn.sharpness_limit(model.optimizer))
"""

from nnkit.dynamics.hessian import HessianVectorProduct, hessian_trace, sharpness
from nnkit.dynamics.jacobian import JacobianSpectrum, jacobian_spectrum
from nnkit.dynamics.noise import (GradientMoments, GradientNoise, gradient_moments,
                                  gradient_noise_scale)
from nnkit.dynamics.objective import Objective
from nnkit.dynamics.propagation import SignalPropagation, mean_field_length, signal_propagation
from nnkit.dynamics.rank import effective_rank
from nnkit.dynamics.stability import preconditioner, sharpness_limit

__all__ = ["GradientMoments", "GradientNoise", "HessianVectorProduct", "JacobianSpectrum",
           "Objective", "SignalPropagation", "effective_rank", "gradient_moments",
           "gradient_noise_scale", "hessian_trace", "jacobian_spectrum", "mean_field_length",
           "preconditioner", "sharpness", "sharpness_limit", "signal_propagation"]
