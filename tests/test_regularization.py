"""model.l2 (coupled L2 on every kernel) and LSUV initialisation through a config."""

import keras
import numpy as np
import pytest

from nnkit.config import ConfigError, as_config
from nnkit.training import build_experiment

from conftest import TINY


def _config(model):
    return as_config({**TINY, "model": {**TINY["model"], **model}})


@pytest.mark.parametrize("model", [
    {"architecture": "mlp", "depth": 2, "units": [8, 5], "residual": True, "l2": 0.03},
    {"architecture": "cnn", "filters": [4], "dense_units": 6, "l2": 0.03},
], ids=["mlp_residual", "cnn"])
def test_model_l2_adds_c_times_the_squared_kernels_to_the_loss(model):
    data = {"name": "digits"} if model["architecture"] == "cnn" else TINY["data"]
    config = as_config({**TINY, "data": data, "model": model})
    network = build_experiment(config).network
    network(np.zeros((2, *network.input_shape[1:]), "float32"))
    kernels = [v for v in network.trainable_weights if v.path.endswith("kernel")]
    assert len(kernels) == (5 if model["architecture"] == "mlp" else 3)  # projections included
    expected = sum(0.03 * np.sum(np.square(v.numpy().astype("float64"))) for v in kernels)
    np.testing.assert_allclose(float(sum(network.losses)), expected, rtol=1e-5)
    assert len(network.losses) == len(kernels)  # biases, BN and the rest are not regularised
    assert build_experiment(_config({"l2": 0.0})).network.losses == []


def test_model_l2_is_refused_for_a_custom_model_with_a_pointer():
    with pytest.raises(ConfigError, match="model.l2"):
        as_config({**TINY, "model": {"architecture": "custom", "builder": "x:y", "l2": 0.1}})


def _hidden_output_variances(network, x):
    dense = [layer for layer in network.layers
             if type(layer).__name__ == "Dense" and layer.name != "output"]
    probe = keras.Model(network.inputs[0], [layer.output for layer in dense])
    return [float(np.var(out)) for out in probe(x)], dense


def test_a_config_with_lsuv_gives_every_hidden_layer_unit_output_variance():
    config = as_config({**TINY, "data": {"name": "digits"},
                        "model": {"architecture": "mlp", "depth": 4, "units": 16,
                                  "activation": "tanh", "kernel_initializer": "lsuv"}})
    experiment = build_experiment(config)
    batch = experiment.dataset.x_train[:32]
    variances, dense = _hidden_output_variances(experiment.network, batch)
    assert len(variances) == 4 and all(abs(v - 1.0) < 0.1 for v in variances), variances
    for layer in dense:  # still orthogonal columns, each scaled by the same factor
        kernel = layer.kernel.numpy().astype("float64")
        gram = kernel.T @ kernel
        np.testing.assert_allclose(gram, np.eye(16) * gram[0, 0], atol=1e-5 * gram[0, 0])
    plain = build_experiment(as_config({**TINY, "data": {"name": "digits"},
                                        "model": {"architecture": "mlp", "depth": 4, "units": 16,
                                                  "activation": "tanh",
                                                  "kernel_initializer": "orthogonal"}}))
    far = _hidden_output_variances(plain.network, batch)[0]
    assert max(abs(v - 1.0) for v in far) > 0.5, "the rescale is what brings them to 1"
