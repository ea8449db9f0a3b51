"""Config → the pieces of an experiment: data, network, optimizer, loss, metrics.

Everything that can fail on user input fails here, before any run folder exists.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from nnkit import data, initializers, losses, metrics, models, optimizers
from nnkit.data import batches
from nnkit.training import distribute
from nnkit.config import ExperimentConfig


from nnkit.errors import ExperimentError


@dataclass
class Experiment:
    config: ExperimentConfig
    dataset: data.Dataset
    network: keras.Model
    loss_name: str
    metric_names: list[str]
    strategy: object = None  # tf.distribute.Strategy, or None for one device

    @property
    def batch_size(self) -> int:
        """Samples per step: the whole set (batch), one (stochastic), or batch_size."""
        mode = self.config.training.mode
        if mode == "batch":
            return len(self.dataset.x_train)
        return 1 if mode == "stochastic" else self.config.training.batch_size

    @property
    def steps_per_epoch(self) -> int:
        return batches.steps_per_epoch(len(self.dataset.x_train), self.batch_size)

    def fit_arguments(self, first_epoch: int = 0, epochs: int | None = None,
                      skip: int = 0) -> dict:
        """``model.fit``'s data arguments for epochs ``first_epoch .. epochs - 1``, without
        the first ``skip`` batches (a run resumed mid-epoch, which fast-forwards over them).

        The training batches come from :func:`nnkit.data.batches.training_batches`, whose
        order depends only on the seed and the epoch, so a run resumed at any epoch sees the
        batches an uninterrupted run would have seen.
        """
        config, dataset = self.config, self.dataset
        epochs = config.training.epochs if epochs is None else epochs
        validation = None
        if len(dataset.x_val):
            validation = (dataset.x_val, self.labels(dataset.y_val))
        return {
            "x": batches.training_batches(
                dataset.x_train, self.labels(dataset.y_train), self.batch_size,
                seed=config.experiment.seed, shuffle=config.training.shuffle,
                first_epoch=first_epoch, epochs=epochs, skip=skip),
            "steps_per_epoch": self.steps_per_epoch, "initial_epoch": first_epoch,
            "epochs": epochs, "validation_data": validation,
            "validation_freq": self._validation_epochs(epochs),
            "shuffle": False,  # the batches are shuffled already
        }

    def _validation_epochs(self, epochs: int) -> int | list[int]:
        """Keras' ``validation_freq``: every N epochs, and always the last (1-based)."""
        every = self.config.training.validation_every_n_epochs
        if every == 1:
            return 1
        return sorted({*range(every, epochs + 1, every), epochs})

    def probe_inputs(self, samples: int) -> np.ndarray | None:
        """``samples`` training inputs drawn once with the experiment's seed (in their order
        in the set): the probe set dead units are counted over. None for 0."""
        batch = self.probe_batch(samples)
        return None if batch is None else batch[0]

    def probe_batch(self, samples: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The probe set's inputs and labels (as the loss wants them); None for 0."""
        x = self.dataset.x_train
        if samples <= 0 or not len(x):
            return None
        rng = np.random.default_rng(self.config.experiment.seed)
        chosen = np.sort(rng.choice(len(x), min(samples, len(x)), replace=False))
        return x[chosen], self.labels(self.dataset.y_train[chosen])

    def constant_prediction_loss(self) -> float | None:
        """The training loss of the best input-blind prediction: the class frequencies for
        a classifier (ln K for K balanced classes, under cross-entropy), the mean target for
        a regression (its variance, under MSE), the mean label in [-1, 1] for the hinge
        loss. What a network that has learnt nothing from its inputs scores; None when the
        loss cannot be evaluated on it."""
        dataset, y = self.dataset, self.dataset.y_train
        if not len(y):
            return None
        if dataset.task == "multiclass":
            labels = y.astype("int64").reshape(-1)  # (a label per position: all of them)
            prior = np.bincount(labels, minlength=dataset.n_classes) / len(labels)
            prediction = np.tile(prior.astype("float32"), (*y.shape, 1))
        else:
            target = np.asarray(y, "float32").reshape(len(y), -1)
            mean = target.mean(axis=0, keepdims=True)
            spec = losses.spec(self.loss_name)
            if spec is not None and spec.output_activation == "tanh":
                mean = 2.0 * mean - 1.0
            prediction = np.broadcast_to(mean, target.shape).reshape(np.shape(y))
        try:
            loss = losses.build(self.config.loss, dataset.task)
            value = float(loss(self.labels(y), prediction))
        except (ValueError, TypeError):
            return None
        return value if np.isfinite(value) and value > 0 else None

    def labels(self, y: np.ndarray) -> np.ndarray:
        """Labels as the loss wants them (one-hot for categorical cross-entropy)."""
        spec = losses.spec(self.loss_name)
        if spec is not None and spec.one_hot:
            return keras.utils.to_categorical(y, self.dataset.n_classes).astype("float32")
        return y


def seed_everything(config: ExperimentConfig) -> None:
    """Seed Python, NumPy and TensorFlow; switch on op determinism if asked."""
    keras.utils.set_random_seed(config.experiment.seed)
    if config.experiment.deterministic:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def build_experiment(config: ExperimentConfig) -> Experiment:
    """Load the data and build the network; raise ExperimentError/DataError on bad input.

    The distribution strategy comes first: it must exist before any TensorFlow op runs.
    """
    try:
        strategy = distribute.strategy_for(config.training)
    except distribute.DistributeError as error:
        raise ExperimentError(str(error)) from None
    seed_everything(config)
    dataset = data.load(config.data)
    loss_name = losses.resolve_name(config.loss if isinstance(config.loss, str)
                                    else config.loss["name"], dataset.task)
    if not losses.fits(loss_name, dataset.task):
        raise ExperimentError(
            f"loss: '{loss_name}' does not fit the {dataset.task} task of dataset "
            f"'{dataset.name}'; use one of {', '.join(losses.losses_for(dataset.task))}")
    try:
        with distribute.scope(strategy):
            network = models.build(config.model, dataset, loss_name)
    except ValueError as error:
        raise ExperimentError(str(error)) from None
    experiment = Experiment(config, dataset, network, loss_name,
                            metrics.resolve(config.metrics, dataset.task), strategy)
    # kernel_initializer: lsuv rescales each hidden layer on the training set's first batch
    # (at least 32 samples, so that one sample's variance does not decide it)
    with distribute.scope(strategy):
        initializers.lsuv_rescale(network, dataset.x_train[:max(experiment.batch_size, 32)])
    return experiment


def compile_model(experiment: Experiment, model: keras.Model) -> None:
    """Compile ``model`` with the experiment's optimizer, loss and metrics."""
    config = experiment.config
    with distribute.scope(experiment.strategy):
        model.compile(optimizer=optimizers.build(config.optimizer),
                      loss=losses.build(config.loss, experiment.dataset.task),
                      metrics=[metrics.build(m) for m in experiment.metric_names],
                      jit_compile=config.training.jit_compile)
    if experiment.strategy is not None:
        distribute.reduce_in_the_step(model.optimizer)
