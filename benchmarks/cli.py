"""How fast the commands that train nothing answer: ``nnkit --help``, ``validate``, ``list``,
``schema`` (target: under 1 s each, without importing TensorFlow).

Each command runs as a fresh process, as a user types it, alternated with the floor: a bare
``python -c pass`` and ``python -c "import tensorflow"`` (what every command cost when
``import nnkit`` imported TensorFlow). Reported: the median wall time of each over the pairs.

    python benchmarks/cli.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "nnkit --help": ["-m", "nnkit.cli", "--help"],
    "nnkit validate configs/quickstart.yaml": ["-m", "nnkit.cli", "validate",
                                               str(ROOT / "configs" / "quickstart.yaml")],
    "nnkit list": ["-m", "nnkit.cli", "list"],
    "nnkit schema": ["-m", "nnkit.cli", "schema"],
    "python -c pass (floor)": ["-c", "pass"],
    "python -c 'import tensorflow' (before)": ["-c", "import tensorflow"],
}


def _seconds(arguments: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *arguments], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    times = {name: [] for name in COMMANDS}
    for arguments in COMMANDS.values():  # warm the file cache
        _seconds(arguments)
    for i in range(args.repeats):
        names = list(COMMANDS) if i % 2 == 0 else list(COMMANDS)[::-1]
        for name in names:
            times[name].append(_seconds(COMMANDS[name]))
    width = max(map(len, COMMANDS))
    for name, values in times.items():
        print(f"{name:<{width}}  {statistics.median(values):6.2f} s  "
              f"(min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
