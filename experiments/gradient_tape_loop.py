"""Train with nnkit's optimizers in a plain tf.GradientTape loop: no compile, no fit.

    python experiments/gradient_tape_loop.py --optimizer nag --epochs 5

The loop is the whole of gradient descent: forward pass under a tape, loss, gradients,
``optimizer.apply(gradients, variables)``. With ``--lookahead`` (NAG only) the gradient is
taken at the notes' look-ahead point W - βV, exactly as nnkit's training step does it.
"""

from __future__ import annotations

import argparse

import keras
import numpy as np
import tensorflow as tf

import nnkit
from nnkit.config import ExperimentConfig
from nnkit.data import load


def train(optimizer_name: str = "adam", epochs: int = 5, batch_size: int = 64,
          learning_rate: float | None = None, lookahead: bool = False, seed: int = 0):
    """Train a small MLP on digits; return the training loss after each epoch."""
    keras.utils.set_random_seed(seed)
    data = load(ExperimentConfig.model_validate({"data": {"name": "digits"}}).data)
    x, y = data.x_train.reshape(len(data.x_train), -1), data.y_train
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        nnkit.layers.Dense(64, "relu", kernel_initializer="he_normal"),
        nnkit.layers.Dense(data.n_classes),
    ])
    params = {"learning_rate": learning_rate} if learning_rate else {}
    if lookahead:
        params["lookahead"] = True
    optimizer = nnkit.optimizers.OPTIMIZERS.get(optimizer_name)(**params)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def step(xb, yb):
        variables = model.trainable_variables
        if lookahead:
            optimizer.to_lookahead(variables)  # W ← W - βV
        with tf.GradientTape() as tape:
            loss = loss_fn(yb, model(xb, training=True))
        gradients = tape.gradient(loss, variables)
        if lookahead:
            optimizer.from_lookahead(variables)  # W ← W + βV
        optimizer.apply(gradients, variables)
        return loss

    history = []
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        losses = [float(step(x[idx], y[idx]))
                  for idx in np.array_split(order, max(1, len(x) // batch_size))]
        history.append(float(np.mean(losses)))
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", default="adam", choices=nnkit.optimizers.OPTIMIZERS.names())
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--lookahead", action="store_true", help="NAG's look-ahead form")
    args = parser.parse_args(argv)
    for epoch, loss in enumerate(train(args.optimizer, args.epochs,
                                       learning_rate=args.learning_rate,
                                       lookahead=args.lookahead), start=1):
        print(f"epoch {epoch}: loss {loss:.4f}")


if __name__ == "__main__":
    main()
