"""The commands that train nothing never import TensorFlow; the catalog they read is the
registries' own; importing Keras after nnkit still registers nnkit's blocks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnkit import catalog

ROOT = Path(__file__).resolve().parents[1]


def test_catalog_file_is_what_the_registries_hold():
    """Regenerate with ``python -m nnkit.catalog`` when a block or Keras changes."""
    assert json.loads(catalog.FILE.read_text()) == catalog.build()


def _python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_validate_list_schema_and_help_do_not_import_tensorflow():
    out = _python(
        "import sys, contextlib, io\n"
        "from nnkit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    codes = [main(['validate', 'configs/quickstart.yaml', '-o', 'model.depth=4',\n"
        "                   '-o', 'model.activation={name: leaky_relu, alpha: 0.2}']),\n"
        "             main(['list']), main(['schema'])]\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as done:\n"
        "        codes.append(done.code)\n"
        "print(codes, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n")
    assert out.strip() == "[0, 0, 0, 0] []"


def test_a_bad_name_is_still_caught_without_tensorflow(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  activation: {name: leaky_relu, slope: 0.2}\n"
                      "  kernel_initializer: he_nromal\n")
    out = _python(
        "import sys, contextlib, io\n"
        "from nnkit.cli import main\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stderr(err):\n"
        f"    code = main(['validate', {str(config)!r}])\n"
        "print(code, 'tensorflow' in sys.modules)\n"
        "print(err.getvalue())\n")
    assert out.startswith("2 False")
    assert "model.activation.slope: 'leaky_relu' has no parameter 'slope'" in out
    assert "(did you mean 'he_normal'?)" in out


@pytest.mark.parametrize("name, ok", [("keras:gelu", True), ("keras:nonexistent", False)])
def test_keras_names_are_checked_against_keras_itself(write_config, name, ok):
    from nnkit.config import ConfigError, load_config

    path = write_config({"model": {"activation": name}})
    if ok:
        assert load_config(path).model.activation == name
    else:
        with pytest.raises(ConfigError, match="is not a Keras activation"):
            load_config(path)


def test_keras_imported_after_nnkit_knows_nnkit_s_blocks(tmp_path):
    out = _python(
        "import sys\n"
        "import nnkit\n"
        "assert 'tensorflow' not in sys.modules\n"
        "import keras\n"
        "print(keras.saving.get_registered_object('nnkit>Dense').__module__,\n"
        "      nnkit.layers.Dense.__name__)\n")
    assert out.split() == ["nnkit.layers.dense", "Dense"]
