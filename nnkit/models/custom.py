"""``model.architecture: custom``: the user's own Keras model, from a builder or a file.

Every mistake is a ``ValueError`` with one line naming the key and what went wrong (the
builder cannot be imported, raised, returned something other than a Keras model, or the
model does not fit the dataset), which ``nnkit run`` reports with exit 2 before it creates
a run folder.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import keras


def _import_builder(reference: str):
    """The builder function; its module is looked up from the working directory first
    (as ``python -m`` would), then the installed packages."""
    module_name, function_name = reference.split(":")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"model.builder: cannot import {module_name!r} ({error}); is it on "
                         "the Python path (the folder nnkit runs in, or an installed "
                         "package)?") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"model.builder: module {module_name!r} has no function "
                         f"{function_name!r}")
    return function


def _from_builder(cfg, input_shape) -> keras.Model:
    builder = _import_builder(cfg.builder)
    try:
        model = builder(cfg, tuple(input_shape))
    except Exception as error:  # the user's code: its failure, in one line
        raise ValueError(f"model.builder: {cfg.builder} raised {type(error).__name__}: "
                         f"{error}") from None
    if not isinstance(model, keras.Model):
        raise ValueError(f"model.builder: {cfg.builder} returned {type(model).__name__}, "
                         "not a keras.Model")
    return model


def _from_file(cfg) -> keras.Model:
    path = Path(cfg.keras_file)
    if not path.is_file():
        raise ValueError(f"model.keras_file: {path}: no such file")
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as error:  # a damaged or unsafe file
        raise ValueError(f"model.keras_file: {path}: cannot be loaded with safe_mode "
                         f"({type(error).__name__}: {str(error).splitlines()[0]})") from None


def _as_functional(model: keras.Model, input_shape) -> keras.Model:
    """A functional model (what nnkit trains) around ``model``; built on the dataset's shape
    (a mismatch is the user's, in one line)."""
    inputs = keras.Input(shape=tuple(input_shape), name="inputs")
    try:
        outputs = model(inputs)
    except Exception as error:
        raise ValueError(f"model: the custom model does not accept this dataset's samples of "
                         f"shape {tuple(input_shape)} ({type(error).__name__}: "
                         f"{str(error).splitlines()[0]})") from None
    if getattr(model, "_operations", None) is not None and hasattr(model, "inputs"):
        return model  # functional or Sequential: trained as it is
    return keras.Model(inputs, outputs, name=model.name)


def build_custom(cfg, input_shape, task: str, output_size: int, loss: str) -> keras.Model:
    """The user's model, checked against the dataset's input shape and output size."""
    model = _from_builder(cfg, input_shape) if cfg.builder else _from_file(cfg)
    source = f"model.{'builder' if cfg.builder else 'keras_file'}"
    model = _as_functional(model, input_shape)
    if len(model.outputs) != 1:
        raise ValueError(f"{source}: the model has {len(model.outputs)} outputs; nnkit trains "
                         "models with one")
    expected = tuple(input_shape)
    got = tuple(model.inputs[0].shape[1:])
    if len(got) != len(expected) or any(g not in (None, e) for g, e in zip(got, expected)):
        raise ValueError(f"{source}: the model takes samples of shape {got}, but the dataset's "
                         f"have shape {expected}")
    units = model.outputs[0].shape[-1]
    if units != output_size:
        raise ValueError(f"{source}: the model's output has {units} units, but the {task} "
                         f"task needs {output_size}")
    return model
