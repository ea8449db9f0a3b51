"""Waiting on a training subprocess until it has written some files (then a test kills it)."""

import subprocess
import time
from pathlib import Path


def _holds(path: Path, text: str | None) -> bool:
    try:
        return text is None or text in path.read_text()
    except OSError:  # (replaced between the listing and the read)
        return False


def wait_for_files(process: subprocess.Popen, folder: Path, pattern: str, count: int = 1,
                   seconds: float = 180, text: str | None = None) -> None:
    """Return once ``folder`` holds ``count`` files matching ``pattern`` (that contain
    ``text``, if given), with ``process`` still running; fail if it ends first or the time
    runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if sum(_holds(p, text) for p in Path(folder).glob(pattern)) >= count:
            return
        time.sleep(0.01)
    state = f"it ended with status {process.poll()}" if process.poll() is not None else (
        f"not within {seconds} s")
    raise AssertionError(f"{count} × {pattern} never appeared in {folder} while it ran ({state})")
