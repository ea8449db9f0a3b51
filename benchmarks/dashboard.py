"""How fast the nnkit tab's server answers on a large run.

    python benchmarks/dashboard.py [--layers 30] [--steps 10000] [--repeats 7]

Writes a synthetic run folder of ``--layers`` layers × ``--steps`` logged steps (per-layer
gradient norms, weight norms and update ratios, as nnkit writes them, plus
``layers.json``), serves it with TensorBoard's own server in this process, twice: with
TensorBoard's default sampling (it keeps 1,000 points per scalar tag) and with
``--samples_per_plugin scalars=0`` (every point). Printed, for
each route the tab asks for when it opens, over HTTP: the first answer (the server reads
the series from TensorBoard) and the median of the next ones (its cache, until the run
grows). Target: under 1 s for 30 layers and 10,000 steps.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from tensorboard import program

from nnkit.instrument.event_file import EventFile
from nnkit.instrument.summaries import ScalarWriter


def write_run(folder: Path, layers: int, steps: int) -> None:
    keys = [f"h{i:02d}_dense" for i in range(1, layers)] + ["output"]
    (folder / "train").mkdir(parents=True)
    (folder / "layers.json").write_text(json.dumps(
        {"layers": [{"key": k, "variables": ["kernel", "bias"]} for k in keys]}))
    tags = [f"{q}/{k}" for q in ("grad_norm", "weight_norm", "update_ratio") for k in keys]
    writer, events = ScalarWriter(tags), EventFile(folder / "train")
    rng = np.random.default_rng(0)
    depth = np.arange(len(tags)) % layers
    for start in range(0, steps, 1000):
        at = np.arange(start, min(steps, start + 1000))
        values = 10.0 ** (-0.3 * (layers - depth) + 0.1 * rng.normal(size=(len(at), len(tags))))
        writer.write(events, values.astype("float32"), at)
    events.close()


def serve(logdir: Path, extra: list[str]):
    board = program.TensorBoard()
    board.configure(argv=[None, "--logdir", str(logdir), "--port", "0", "--host", "127.0.0.1",
                          "--load_fast", "false", *extra])
    server = board._make_server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.get_url().rstrip("/")


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def loaded(url: str, args) -> bool:
    """Whether TensorBoard has read the whole run (its last tag up to the last step): until
    then its loading thread competes for the interpreter and the series keep growing."""
    try:
        matrix = json.loads(get(url))
    except OSError:
        return False
    return len(matrix["layers"]) == args.layers and matrix["last_steps"][-1] == args.steps - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=30)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as logdir:
        write_run(Path(logdir) / "big", args.layers, args.steps)
        for label, extra in (("TensorBoard's default sampling", []),
                             ("every point", ["--samples_per_plugin", "scalars=0"])):
            server, url = serve(Path(logdir), extra)
            base = f"{url}/data/plugin/nnkit"
            run = urllib.parse.quote("big/train")
            deadline = time.monotonic() + 600
            while not loaded(f"{base}/matrix?run={run}&quantity=update_ratio", args):
                if time.monotonic() > deadline:  # TensorBoard loads in the background
                    raise SystemExit("TensorBoard did not load the run in 600 s")
                time.sleep(1.0)
            routes = {"runs": f"{base}/runs",
                      "matrix (grad_norm)": f"{base}/matrix?run={run}&quantity=grad_norm",
                      "profile": f"{base}/profile?run={run}&step={args.steps // 2}"}
            print(f"{args.layers} layers x {args.steps} steps, {label}:")
            for name, route in routes.items():
                times = []
                for _ in range(args.repeats + 1):
                    start = time.perf_counter()
                    get(route)
                    times.append(time.perf_counter() - start)
                print(f"  {name:<20} first {times[0]:.3f} s, then median "
                      f"{statistics.median(times[1:]):.3f} s (max {max(times[1:]):.3f} s)",
                      flush=True)
            server.shutdown()


if __name__ == "__main__":
    main()
