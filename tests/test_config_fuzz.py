"""Property-based fuzzing of the config loader: random documents never end in a traceback.

Whatever the YAML holds, ``load_config`` returns a config or raises ConfigError, whose
lines each name the file.
"""

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnkit.config import ConfigError, ExperimentConfig, load_config

SECTIONS = list(ExperimentConfig.model_fields) + ["extends", "modle", "x"]
KEYS = ["name", "architecture", "depth", "units", "activation", "learning_rate", "epochs",
        "mode", "batch_norm", "dropout", "noise", "seed", "tuner", "space", "choice",
        "early_stopping", "patience", "kernel_initializer", "validation_split", "params"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                    st.sampled_from(["relu", "mlp", "cnn", "adam", "nag", "digits", "moons",
                                     "keras:relu", "he_normal", "before", "batch", "auto"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6) | st.integers(-3, 3)
                    | st.booleans(), inner, max_size=4)),
    max_leaves=12)
documents = st.one_of(
    st.dictionaries(st.sampled_from(SECTIONS), values, max_size=6),
    values,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_random_documents_load_or_fail_cleanly(tmp_path, document):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    try:
        load_config(path)
    except ConfigError as error:
        assert error.lines and all(line.startswith(str(path)) for line in error.lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("abc:{}[]-,!&*|>'\"\n #%@`.0123456789")),
                    max_size=60))
def test_random_text_loads_or_fails_cleanly(tmp_path, text):
    path = tmp_path / "raw.yaml"
    path.write_text(text)
    try:
        load_config(path)
    except ConfigError as error:
        assert all(line.startswith(str(path)) for line in error.lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(override=st.text(max_size=30))
def test_random_overrides_load_or_fail_cleanly(tmp_path, override):
    path = tmp_path / "base.yaml"
    path.write_text("data: {name: iris}\n")
    try:
        load_config(path, [override])
    except ConfigError as error:
        assert error.lines
