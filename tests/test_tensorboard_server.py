"""The real TensorBoard server serves nnkit's per-layer tags and images, as a browser gets them.

Starts ``tensorboard`` on 127.0.0.1 with a free port, bounded in time, stopped after.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nnkit.config import load_config
from nnkit.training import run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def server(tiny_config, tmp_path):
    result = run(load_config(tiny_config, ["training.epochs=2"]), verbose=0)
    port = _free_port()
    tensorboard = Path(sys.executable).with_name("tensorboard")
    command = [str(tensorboard)] if tensorboard.exists() else [sys.executable, "-m",
                                                               "tensorboard.main"]
    process = subprocess.Popen(
        [*command, "--logdir", str(result.run_dir), "--host", "127.0.0.1", "--port", str(port),
         "--load_fast", "false"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                tags = _get(f"{base}/data/plugin/scalars/tags")
                if tags.get("train"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("tensorboard did not serve the run within 90 s")
            time.sleep(0.5)
        yield base, result
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_per_layer_tags_and_gradient_flow_image_are_served(server):
    base, result = server
    scalars = _get(f"{base}/data/plugin/scalars/tags")["train"]
    for tag in ("grad_norm/h01_dense", "grad_norm/global",
                "weight_norm/h02_dense", "update_ratio/output", "learning_rate",
                "dead_fraction/h01_activation", "distinct_units/h01_dense", "epoch_loss"):
        assert tag in scalars, tag
    points = _get(f"{base}/data/plugin/scalars/scalars?run=train&tag=grad_norm%2Fglobal")
    steps = result.metrics["epochs_run"] * result.metrics["steps_per_epoch"]
    assert len(points) == steps and all(p[2] > 0 for p in points)
    images = _get(f"{base}/data/plugin/images/tags")["train"]
    assert "gradient_flow" in images
    histograms = _get(f"{base}/data/plugin/histograms/tags")["train"]
    assert "gradients/h01_dense/kernel" in histograms
