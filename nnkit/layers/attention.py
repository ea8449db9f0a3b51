"""Multi-head scaled dot-product attention (Vaswani et al. 2017), in Keras' weight layout."""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import ops

from nnkit import initializers


@keras.saving.register_keras_serializable(package="nnkit")
class MultiHeadAttention(keras.layers.Layer):
    """For each head h, with d_k = ``key_dim``:

        Q_h = X_q W_h^Q + b,  K_h = X_v W_h^K + b,  V_h = X_v W_h^V + b
        A_h = softmax(Q_h K_hᵀ / √d_k)   (rows sum to 1 over the attended positions)
        Y = Σ_h (A_h V_h) W_h^O + b^O

    The weights keep the shapes of Keras' ``MultiHeadAttention`` (query, key and value
    kernels [d, heads, d_k] and biases [heads, d_k]; output kernel [heads, d_v, d] and bias
    [d], in that order), so the two exchange weights with ``set_weights`` and compute the
    same outputs and gradients. Kernels are initialised as the linear maps they are,
    d → heads·d_k (Glorot's fans of that matrix).

    ``attention_tap`` (set by :class:`~nnkit.instrument.attention.AttentionTaps` while it
    is active) keeps each call's A [batch, heads, queries, keys]: the recorder's per-head
    attention entropy −Σ A log A (0: each query attends to one position, collapse; log T:
    uniform).

    Args:
        num_heads, key_dim: heads and the per-head width of queries and keys.
        value_dim: per-head width of values (default ``key_dim``).
        dropout: dropout on A during training.
        use_bias, kernel_initializer, bias_initializer: as Keras'.
        causal: mask attention to later positions (``use_causal_mask``).
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None,
                 dropout: float = 0.0, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 causal: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = int(num_heads), int(key_dim)
        self.value_dim = int(value_dim or key_dim)
        self.dropout, self.use_bias, self.causal = float(dropout), bool(use_bias), bool(causal)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.attention_tap = None
        self._dropout = keras.layers.Dropout(self.dropout) if self.dropout else None

    def _projection(self, name, shape, matrix):
        """A kernel of ``shape`` initialised as the ``matrix``-shaped linear map it is."""
        init = self.kernel_initializer

        def initializer(shape, dtype=None):
            return ops.reshape(init(matrix, dtype), shape)

        kernel = self.add_weight(name=f"{name}_kernel", shape=shape, initializer=initializer)
        return kernel

    def build(self, query_shape, value_shape=None, key_shape=None):
        d_query = query_shape[-1]
        d_value = (value_shape or query_shape)[-1]
        heads, dk, dv = self.num_heads, self.key_dim, self.value_dim
        weights = []
        for name, d_in, width in (("query", d_query, dk), ("key", d_value, dk),
                                  ("value", d_value, dv)):
            kernel = self._projection(name, (d_in, heads, width), (d_in, heads * width))
            bias = (self.add_weight(name=f"{name}_bias", shape=(heads, width),
                                    initializer=self.bias_initializer)
                    if self.use_bias else None)
            weights.append((kernel, bias))
        (self.query_kernel, self.query_bias), (self.key_kernel, self.key_bias), \
            (self.value_kernel, self.value_bias) = weights
        self.output_kernel = self._projection("output", (heads, dv, d_query),
                                              (heads * dv, d_query))
        self.output_bias = (self.add_weight(name="output_bias", shape=(d_query,),
                                            initializer=self.bias_initializer)
                            if self.use_bias else None)

    @staticmethod
    def _project(x, kernel, bias):
        y = ops.einsum("btd,dhk->bthk", x, kernel)
        return y + bias if bias is not None else y

    def call(self, query, value=None, key=None, training=False):
        value = query if value is None else value
        key = value if key is None else key
        q = self._project(query, self.query_kernel, self.query_bias) / math.sqrt(self.key_dim)
        k = self._project(key, self.key_kernel, self.key_bias)
        v = self._project(value, self.value_kernel, self.value_bias)
        scores = ops.einsum("bshk,bthk->bhts", k, q)  # [batch, heads, queries, keys]
        if self.causal:
            t_q, t_k = ops.shape(scores)[-2], ops.shape(scores)[-1]
            allowed = ops.arange(t_k)[None, :] <= ops.arange(t_q)[:, None]
            scores = ops.where(allowed, scores, ops.full_like(scores, -1e9))
        attention = ops.softmax(scores, axis=-1)
        tap = self.attention_tap
        if tap is not None and tap.here():
            tap.keep(self, attention)
        if self._dropout is not None:
            attention = self._dropout(attention, training=training)
        mixed = ops.einsum("bhts,bshv->bthv", attention, v)
        y = ops.einsum("bthv,hvd->btd", mixed, self.output_kernel)
        return y + self.output_bias if self.output_bias is not None else y

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return query_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "causal": self.causal}


def attention_entropy(attention) -> tf.Tensor:
    """Mean entropy per head, −Σ_s A log A over the keys, averaged over batch and queries:
    [heads] from A [batch, heads, queries, keys] (nats; log T for uniform attention)."""
    a = tf.cast(attention, tf.float32)
    entropy = -tf.reduce_sum(a * tf.math.log(tf.maximum(a, 1e-30)), axis=-1)
    return tf.reduce_mean(entropy, axis=[0, 2])
