"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019)."""

from __future__ import annotations

import keras

from nnkit.optimizers.adam import Adam


@keras.saving.register_keras_serializable(package="nnkit")
class AdamW(Adam):
    """Adam, with every weight also shrunk by W ← W - η·λ·W at each step.

    Coupled L2 regularisation (``model.l2``) adds c·‖W‖² to the loss, so its gradient 2cW goes
    through Adam's 1/(√v̂ + ε) with the data's gradient: weights whose gradients are large are
    decayed less than others. Loshchilov & Hutter (2019) decouple the two: the decay acts on W
    directly, at the same rate for every weight, and Adam sees only the data's gradient.
    For plain SGD the two coincide when λ = 2c (W ← W - η(∇W + 2cW)); for Adam they differ,
    which is the paper's point and the comparison ``model.l2`` against
    ``optimizer.weight_decay`` makes possible.

    As ``keras.optimizers.AdamW``: the decay is applied first, with the step's learning rate
    (W ← W - η_t·λ·W), then Adam's update from the gradient taken before either; variables
    passed to ``optimizer.exclude_from_weight_decay(var_list, var_names)`` before the first
    step are not decayed. Every other nnkit optimizer
    takes ``weight_decay`` too (Keras' base optimizer applies it); AdamW is Adam whose decay
    is on by default.

    Args:
        learning_rate: η (default 0.001).
        weight_decay: λ > 0 (default 0.004, Keras').
        beta_1, beta_2, epsilon, amsgrad, epsilon_mode: as :class:`Adam`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, epsilon_mode="keras", name=None, **kwargs):
        if weight_decay is None or not float(weight_decay) > 0:
            raise ValueError(f"weight_decay must be > 0 for AdamW (without decay it is "
                             f"'adam'), got {weight_decay}")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, epsilon_mode, name,
                         weight_decay=weight_decay, **kwargs)
