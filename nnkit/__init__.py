"""nnkit: a TensorFlow/Keras experiment suite for studying how deep networks train.

Importing nnkit registers every hand-written activation, initializer, layer and optimizer with
Keras, so models that use them reload with ``keras.saving.load_model`` under ``safe_mode``.
"""

__version__ = "0.1.0"

from nnkit._quiet import import_tensorflow  # noqa: E402

import_tensorflow()

from nnkit import activations, initializers, layers, optimizers  # noqa: E402  (registration)

__all__ = ["activations", "initializers", "layers", "optimizers", "__version__"]
