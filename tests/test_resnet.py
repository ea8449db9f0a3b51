"""``architecture: resnet``: the layers He et al. (2016) describe, the plain twin, the
shortcut options, zero-initialised residuals; it trains, saves and reloads."""

import json

import keras
import numpy as np
import pytest

from nnkit import layers
from nnkit.cli import main
from nnkit.config import load_config
from nnkit.training.build import build_experiment

from event_files import read_tags
from same_run import assert_reloaded_model_scores_as_logged

BASE = {"experiment": {"name": "res", "seed": 2},
        "data": {"name": "digits"},
        "model": {"architecture": "resnet", "depth": 10, "widths": [4, 8]},
        "optimizer": {"name": "sgd", "learning_rate": 0.05},
        "training": {"epochs": 1, "batch_size": 128},
        "logging": {"preflight": False}}


def _network(write_config, **model):
    config = {**BASE, "model": {**BASE["model"], **model}}
    return build_experiment(load_config(write_config(config))).network


def _of(model, kind):
    return [layer for layer in model.layers if isinstance(layer, kind)]


@pytest.mark.parametrize("depth, widths", [(20, [4, 8, 16]), (10, [4, 8])])
def test_depth_counts_the_weighted_layers_and_plain_drops_only_the_skips(write_config, depth,
                                                                          widths):
    """Depth = convolutions on the main path + the output layer; the plain twin has the
    same layers but no Add."""
    residual = _network(write_config, depth=depth, widths=widths)
    plain = _network(write_config, depth=depth, widths=widths, plain=True)
    main_path = [c for c in _of(residual, keras.layers.Conv2D) if "shortcut" not in c.name]
    assert len(main_path) + 1 == depth
    blocks = (depth - 2) // 2
    assert len(_of(residual, keras.layers.Add)) == blocks
    assert not _of(plain, keras.layers.Add)
    assert [c.name for c in _of(plain, keras.layers.Conv2D)] == [c.name for c in main_path]
    assert [c.filters for c in main_path[1::2]] == [w for w in widths
                                                   for _ in range(blocks // len(widths))]
    projections = [c for c in _of(residual, keras.layers.Conv2D) if "shortcut" in c.name]
    assert len(projections) == len(widths) - 1 and all(c.strides == (2, 2)
                                                      for c in projections)


def test_the_identity_shortcut_subsamples_and_zero_pads(write_config):
    model = _network(write_config, shortcut="identity")
    (shortcut,) = _of(model, layers.PaddedShortcut)
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 4)).astype("float32")
    expected = np.zeros((2, 4, 4, 8), "float32")
    expected[..., 2:6] = x[:, ::2, ::2, :]
    np.testing.assert_array_equal(shortcut(x), expected)
    plain = _network(write_config, plain=True)
    assert model.count_params() == plain.count_params()  # the identity has no weights


def test_zero_init_residual_starts_every_block_as_the_identity(write_config):
    """γ = 0 in each block's last batch norm: the residual branch is 0 at initialisation, so
    a block without a stride returns its input (post-activation: g(x + 0) = x for x ≥ 0
    coming out of the previous ReLU)."""
    model = _network(write_config, zero_init_residual=True, depth=14)
    taps = keras.Model(model.inputs, [model.get_layer("h01_activation2").output,
                                      model.get_layer("h02_activation2").output,
                                      model.get_layer("h03_activation2").output])
    x = np.random.default_rng(1).normal(size=(5, 8, 8, 1)).astype("float32")
    first, second, third = (np.asarray(t) for t in taps(x, training=False))
    np.testing.assert_allclose(second, first, atol=1e-6)
    np.testing.assert_allclose(third, second, atol=1e-6)
    ordinary = _network(write_config, depth=14)
    assert not np.allclose(ordinary.get_layer("h02_batch_norm2").gamma.numpy(), 0)


@pytest.mark.parametrize("options", [{}, {"plain": True},
                                     {"preactivation": True, "shortcut": "identity"}],
                         ids=["resnet", "plain", "preactivation"])
def test_trains_one_epoch_and_reloads_in_safe_mode(write_config, tmp_path, options):
    path = write_config({**BASE, "model": {**BASE["model"], **options}})
    assert main(["run", str(path), "--logdir", str(tmp_path), "--quiet"]) == 0
    (run_dir,) = (tmp_path / "res").iterdir()
    assert_reloaded_model_scores_as_logged(run_dir, path)
    layer_keys = [row["key"] for row in json.loads((run_dir / "layers.json").read_text())
                  ["layers"]]
    blocks = [key.split("_")[0] for key in layer_keys]
    assert blocks == sorted(blocks)  # blocks named from the input: keys sort by depth
    tags = read_tags(run_dir / "train")
    block_norm = tags["block_grad_norm/h01"]  # ‖∇‖ over the block's layers: from the layers'
    members = [t for t in tags if t.startswith("grad_norm/h01_") and t.count("/") == 1]
    assert len(members) >= 4  # two convolutions, two batch norms
    for step, value in block_norm.items():
        np.testing.assert_allclose(value, np.sqrt(sum(float(tags[t][step]) ** 2
                                                      for t in members)), rtol=1e-5)
