"""Per-head attention entropy: how spread each head's attention is, on histogram steps.

For a head's attention weights A [batch, queries, keys] (rows summing to 1), the entropy
H = −Σ_s A_ts log A_ts, averaged over the batch and the queries, is log T when a head
attends uniformly over T positions and 0 when each query attends to one position. A fall
to near 0 early in training is entropy collapse, which goes with unstable training
(Zhai et al. 2023); a head stuck at log T has learnt nothing to attend to.

While :meth:`AttentionTaps.active`, every nnkit
:class:`~nnkit.layers.MultiHeadAttention` in the model hands its A to the taps from the
step's own forward pass (no second pass); the recorder logs ``attention_entropy/<key>/
head_<h>`` (h from 1) beside the activation statistics.
"""

from __future__ import annotations

import tensorflow as tf

from nnkit.instrument.forward_taps import ForwardTaps


class AttentionTaps(ForwardTaps):
    """Taps on the attention weights of ``plans``' layers (nnkit MultiHeadAttention)."""

    def __init__(self, plans: list):
        super().__init__([p.layer for p in plans], "attention_tap")
        self.plans = plans

    @classmethod
    def for_plans(cls, plans: list):
        """The taps of the planned nnkit attention layers, or None when there are none."""
        from nnkit.layers import MultiHeadAttention

        found = [p for p in plans if isinstance(p.layer, MultiHeadAttention)]
        return cls(found) if found else None

    @property
    def tags(self) -> list[str]:
        return [f"attention_entropy/{p.key}/head_{h + 1}" for p in self.plans
                for h in range(p.layer.num_heads)]

    def entropies(self) -> list:
        """Each head's mean entropy, in the order of :attr:`tags` (NaN: not called)."""
        from nnkit.layers.attention import attention_entropy

        values = []
        for plan, attention in zip(self.plans, self.taps()):
            heads = plan.layer.num_heads
            row = (tf.fill([heads], float("nan")) if attention is None
                   else attention_entropy(attention))
            values += [row[h] for h in range(heads)]
        return values
