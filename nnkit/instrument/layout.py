"""A Custom Scalars layout in each run folder: one chart per quantity with every layer.

TensorBoard's Scalars tab draws one chart per tag, each on its own axis, paged twelve at
a time, so layers cannot be compared at a glance. Its Custom Scalars tab draws the charts a
layout lists; a *multiline* chart overlays every tag its regex matches. The layout written
here (a ``custom_scalars__config__`` summary, as ``tensorboard.summary.v1.custom_scalar_pb``
writes it) has one such chart per per-layer quantity, so the stock tab shows all layers
together even where nnkit's own tab is not installed.

The regexes match the per-layer tags of any run (``^grad_norm/(?!global$).+$``), not a
list of this run's layers: TensorBoard merges the layouts of all runs under its log folder
and keeps one copy of identical charts, so runs of different depth share one chart per
quantity.
"""

from __future__ import annotations

import re
from pathlib import Path

from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.custom_scalar import layout_pb2, metadata
from tensorboard.util import tensor_util

from nnkit.instrument.event_file import EventFile

CATEGORY = "nnkit: every layer"
LAYOUT_NAME = "nnkit-layout"  # the event file's name ends .<this>.v2
CHARTS = {  # tag prefix: chart title
    "grad_norm": "gradient norm ‖∇‖ per layer",
    "update_ratio": "update ratio ‖ΔW‖/‖W‖ per layer",
    "weight_norm": "weight norm ‖W‖ per layer",
    "activation_std": "activation std per layer",
    "dead_fraction": "dead fraction per layer",
    "saturated_fraction": "saturated fraction per layer",
}


def layer_regex(prefix: str, variables=()) -> str:
    """The regex of ``prefix``'s per-layer tags. A key may hold slashes (``encoder/dense``),
    so the per-variable gradient tags (``logging.per_variable``) are told apart by their
    last part, the names in ``variables`` (kernel, bias, ...)."""
    if prefix != "grad_norm":
        return rf"^{prefix}/.+$"
    excluded = "".join(rf"(?<!/{re.escape(name)})" for name in sorted(set(variables)))
    return rf"^grad_norm/(?!global$).+{excluded}$"


def layout(prefixes, variables=()) -> layout_pb2.Layout:
    """The layout's charts for the quantities ``prefixes`` (in :data:`CHARTS`' order),
    ``variables`` the names of the per-variable tags' last parts, if any are logged."""
    charts = [layout_pb2.Chart(title=title, multiline=layout_pb2.MultilineChartContent(
        tag=[layer_regex(prefix, variables)]))
        for prefix, title in CHARTS.items() if prefix in prefixes]
    return layout_pb2.Layout(category=[layout_pb2.Category(title=CATEGORY, chart=charts)])


def write_layout(folder: str | Path, tags, variables=()) -> None:
    """Write the layout of the quantities among ``tags`` into ``folder`` (its own event
    file, at step 0, once: a resumed run keeps the one it has); ``variables`` as for
    :func:`layout`."""
    if any(Path(folder).glob(f"*{LAYOUT_NAME}*")):
        return
    prefixes = {tag.split("/", 1)[0] for tag in tags}
    value = summary_pb2.Summary.Value(
        tag=metadata.CONFIG_SUMMARY_TAG,
        metadata=metadata.create_summary_metadata(),
        tensor=tensor_util.make_tensor_proto(layout(prefixes, variables).SerializeToString()))
    events = EventFile(folder, name=LAYOUT_NAME)
    events.write(summary_pb2.Summary(value=[value]).SerializeToString(), 0)
    events.close()
