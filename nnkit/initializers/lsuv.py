"""Layer-sequential unit-variance initialisation (Mishkin & Matas 2016, "All you need is a
good init")."""

from __future__ import annotations

import math

import keras
from keras import ops

from nnkit.initializers.orthogonal import Orthogonal


@keras.saving.register_keras_serializable(package="nnkit")
class LSUV(Orthogonal):
    """The orthonormal start of LSUV; :func:`lsuv_rescale` then does the data-driven part.

    Mishkin & Matas (2016), Algorithm 1:

    1. initialise every kernel with an orthonormal matrix (Saxe et al. 2014), this class;
    2. for each layer L, from the input: forward a mini-batch, compute Var(B_L) of the
       layer's output B_L and set W_L ← W_L / √Var(B_L), until |Var(B_L) - 1| < tolerance or
       ``max_iterations`` passes.

    Step 2 needs data, which an initializer never sees: ``nnkit run`` calls
    :func:`lsuv_rescale` on the first training batch when a config says
    ``kernel_initializer: lsuv``; in your own code, call it after building the model.
    Without it the kernels are plain orthogonal ones.

    Args:
        gain: the orthonormal start's factor (default 1).
        seed: an integer, a ``keras.random.SeedGenerator`` or None.
    """


def _lsuv_layers(model: keras.Model) -> list:
    """The layers whose ``kernel`` was initialised by :class:`LSUV`, in the order the model
    lists them (from the input)."""
    return [layer for layer in model.layers
            if isinstance(getattr(layer, "kernel_initializer", None), LSUV)
            and getattr(layer, "kernel", None) is not None]


def lsuv_rescale(model: keras.Model, batch, tolerance: float = 0.1,
                 max_iterations: int = 10) -> dict[str, float]:
    """Rescale each LSUV-initialised layer's kernel, input side first, until its output
    variance on ``batch`` is within ``tolerance`` of 1; returns {layer name: the output
    variance reached}.

    A layer's output is what the layer returns: the pre-activation for nnkit's models (their
    activations are layers of their own), the post-activation for a Dense with a fused
    activation. The model must be functional or Sequential (built), so that each layer's
    output can be read off one forward pass; biases are left as they are.
    """
    layers = _lsuv_layers(model)
    if not layers:
        return {}
    if not model.built or getattr(model, "inputs", None) is None:
        raise ValueError("lsuv_rescale needs a built functional or Sequential model")
    # output layers keep the orthonormal start: their output (softmax probabilities, a
    # sigmoid) cannot be given unit variance
    outputs = {id(t._keras_history[0]) for t in model.outputs}
    layers = [layer for layer in layers if id(layer) not in outputs]
    if not layers:
        return {}
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [layer.output for layer in layers])
    reached = {}
    for index, layer in enumerate(layers):  # the earlier layers are final: rescale in order
        for _ in range(max_iterations):
            output = keras.tree.flatten(probe(batch, training=False))[index]
            variance = float(ops.var(ops.cast(output, "float32")))
            if not math.isfinite(variance) or variance == 0.0:
                raise ValueError(f"lsuv_rescale: the output of {layer.name} has variance "
                                 f"{variance} on the batch; it cannot be scaled to 1")
            if abs(variance - 1.0) < tolerance:
                break
            layer.kernel.assign(layer.kernel / math.sqrt(variance))
        reached[layer.name] = variance
    return reached
