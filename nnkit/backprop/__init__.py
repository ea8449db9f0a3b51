"""Backpropagation by hand: the notes' matrix equations for an MLP, a computational graph
of gates, and ``gradcheck`` comparing them with ``tf.GradientTape`` and finite differences."""

from nnkit.backprop import graph
from nnkit.backprop.gradcheck import GradcheckError, Row, gradcheck, relative_error
from nnkit.backprop.losses import LOSSES
from nnkit.backprop.mlp import Layer, backward, forward, loss_and_gradients

__all__ = ["GradcheckError", "LOSSES", "Layer", "Row", "backward", "forward", "gradcheck",
           "graph", "loss_and_gradients", "relative_error"]
