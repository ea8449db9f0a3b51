"""The gradient-flow image, at the size TensorBoard shows it."""

import io

import matplotlib.pyplot as plt
import numpy as np

from nnkit.instrument.flow_plot import ROW_INCHES, gradient_flow_figure, to_png


def test_thirty_layers_fit_a_tensorboard_card_with_a_row_of_text_each():
    keys = [f"block_{i:02d}/dense" for i in range(1, 30)] + ["output"]
    norms = 10.0 ** (-0.3 * np.arange(30)[::-1])
    figure = gradient_flow_figure(keys, norms, "gradient flow", first=norms * 2)
    labels = [t.get_fontsize() for t in figure.axes[0].get_yticklabels()]
    image = plt.imread(io.BytesIO(to_png(figure)))
    assert image.shape[1] <= 420, "shown near its own size in a card ~400 px wide"
    assert min(labels) >= 9 and ROW_INCHES * 100 >= 1.5 * 9 * 100 / 72, "rows fit their labels"
    assert image.shape[0] >= 30 * ROW_INCHES * 100


def test_a_non_finite_layer_is_labelled_not_dropped():
    figure = gradient_flow_figure(["a", "b"], [1.0, np.nan])
    texts = [t.get_text() for t in figure.axes[0].texts]
    assert texts == ["NaN/Inf"]
    plt.close(figure)
