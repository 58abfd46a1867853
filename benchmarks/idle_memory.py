"""Peak memory (RSS) of an idle ``monitor run`` with the shipped sources.yaml.

    python benchmarks/idle_memory.py [--seconds 60] [--config sources.yaml]

Starts the service on a fresh SQLite database in a temporary directory, samples VmRSS and
VmHWM (the peak) from /proc every second, then stops it with SIGTERM. Polls that fire meanwhile
(the first ones are spread over the jitter window) are part of the measure; without network
they fail fast. Target: peak RSS at most 120 MB.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--config", type=Path, default=ROOT / "sources.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "MONITOR_CONFIG": str(args.config),
            "MONITOR_DATABASE_URL": f"sqlite:///{tmp}/monitor.db",
            "MONITOR_DIGEST_DIR": f"{tmp}/digests",
            "MONITOR_HTTP_PORT": "0",
        }
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run"],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        samples = []
        try:
            while time.monotonic() - started < args.seconds and process.poll() is None:
                time.sleep(1)
                samples.append(status_kb(process.pid, "VmRSS"))
            peak = status_kb(process.pid, "VmHWM")
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(60)
    print(f"monitor run, {len(samples)} s with {args.config.name}; exit status {code}")
    print(f"RSS after start-up {samples[2] / 1024:.1f} MB, at the end {samples[-1] / 1024:.1f} MB")
    print(f"peak RSS (VmHWM) {peak / 1024:.1f} MB (target <= 120 MB)")


if __name__ == "__main__":
    main()
