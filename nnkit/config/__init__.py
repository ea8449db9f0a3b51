"""Experiment configs: YAML files validated against a typed schema.

``load_config(path, overrides)`` returns an :class:`ExperimentConfig` or raises
:class:`ConfigError` whose lines read ``file:line: key.path: message``.
"""

from nnkit.config.errors import ConfigError
from nnkit.config.loader import as_config, dump, load_config, parse_override
from nnkit.config.schema import ExperimentConfig, json_schema

__all__ = ["ConfigError", "as_config", "ExperimentConfig", "dump", "json_schema", "load_config",
           "parse_override"]
