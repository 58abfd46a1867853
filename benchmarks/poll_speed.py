"""A polling round over many local feeds, against its bounds and a plain poller, in one run.

    python benchmarks/poll_speed.py [--feeds 1000] [--items 50] [--latency 0.2] [--concurrency 32]

A feed server (``feedserver.py``, its own process) serves ``--feeds`` RSS feeds of ``--items``
distinct items each, answering every request after ``--latency`` seconds, on loopback
addresses 127.0.0.1 to 127.0.0.64 (so that per-host limits are real: at most 2 requests at once
per host). Measured, each in its own process, wall time and CPU (user + system) of every
process of the run (monitor's worker processes included: this script waits for them as their
subreaper), and of the process started alone:

1. the plain poller: requests + a pool of ``--concurrency`` threads + feedparser + sqlite3
   (insert or ignore), the yardstick;
2. ``monitor poll`` on a fresh SQLite database: the first round (everything new);
3. ``monitor poll`` again: the unchanged round (the server answers 304);
4. ``monitor poll`` again, the server now ignoring conditional GET: the same bytes again.

Bounds printed beside them: the latency bound (feeds x latency / concurrency) and the round's
parse CPU (feedparser over every body, one core) over 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
HOSTS = 64


@dataclass
class Run:
    name: str
    wall: float
    cpu: float  # all processes
    main: float  # the process started (the others: its worker processes)
    items: int | None = None


def start_server(
    args: argparse.Namespace, ignore_conditional: bool, port: int = 0
) -> tuple[subprocess.Popen[str], int]:
    command = [
        sys.executable,
        str(HERE / "feedserver.py"),
        f"--port={port}",
        f"--feeds={args.feeds}",
        f"--items={args.items}",
        f"--latency={args.latency}",
        f"--day={args.day}",
    ]
    if ignore_conditional:
        command.append("--ignore-conditional")
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    port = int(server.stdout.readline())
    return server, port


def urls(args: argparse.Namespace, port: int) -> list[str]:
    return [f"http://127.0.0.{1 + n % HOSTS}:{port}/feed/{n}.xml" for n in range(args.feeds)]


def subreaper() -> None:
    """Become the parent of our orphaned descendants (Linux), so that the CPU of processes a
    child leaves behind (the ``forkserver`` and the worker processes it forked: grandchildren,
    never waited for by the child) is counted in ``RUSAGE_CHILDREN`` once they are reaped."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _children(keep: set[int]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in keep:
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


def _cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def timed(
    command: list[str], env: dict[str, str] | None = None, keep: set[int] | None = None
) -> tuple[float, float, float]:
    """Wall seconds of a child process; CPU seconds of it and of every process it started
    (waited for once the child is done); CPU seconds of the child alone. ``keep``: our other
    children (the feed server), not waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, command)
    limit = time.monotonic() + 10
    while (orphans := _children(keep or set())) and time.monotonic() < limit:
        for pid in orphans:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, _cpu(after) - _cpu(before), _cpu(usage)


def config(args: argparse.Namespace, port: int, path: Path) -> None:
    shipped = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    shipped["sources"] = [
        {
            "id": f"feed-{n}",
            "name": f"Feed {n}",
            "kind": "rss",
            "url": url,
            "publisher": "nsf",
            "fetch_articles": False,
        }
        for n, url in enumerate(urls(args, port))
    ]
    shipped["http"] = {
        "concurrency": args.concurrency,
        "per_host_concurrency": 2,
        "per_host_delay": 0,
        "retries": 0,
    }
    path.write_text(yaml.safe_dump(shipped, allow_unicode=True), encoding="utf-8")


def stored(database: Path, table: str = "items") -> int:
    with sqlite3.connect(database) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def parse_cpu(args: argparse.Namespace) -> float:
    """feedparser over every body of the round, on one core."""
    sys.path.insert(0, str(HERE))
    import feedparser
    from feedserver import feed

    bodies = [feed(n, args.items, args.day) for n in range(args.feeds)]
    started = time.process_time()
    for body in bodies:
        feedparser.parse(body)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    args.day = (date.today() - timedelta(days=2)).isoformat()  # the same for every server
    subreaper()
    expected = args.feeds * args.items
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server, port = start_server(args, ignore_conditional=False)
        try:
            (work / "urls.txt").write_text("\n".join(urls(args, port)), encoding="utf-8")
            plain_db = work / "plain.db"
            servers = {server.pid}
            wall, cpu, main = timed(
                [
                    sys.executable,
                    str(HERE / "plain_poller.py"),
                    str(work / "urls.txt"),
                    str(plain_db),
                    str(args.concurrency),
                ],
                keep=servers,
            )
            runs.append(
                Run(
                    "plain poller (requests, threads, feedparser, sqlite3)",
                    wall,
                    cpu,
                    main,
                    stored(plain_db),
                )
            )
            config(args, port, work / "sources.yaml")
            env = os.environ | {
                "MONITOR_CONFIG": str(work / "sources.yaml"),
                "MONITOR_DATABASE_URL": f"sqlite:///{work / 'monitor.db'}",
                "MONITOR_DIGEST_DIR": str(work / "digests"),
                "MONITOR_ALLOW_PRIVATE_HOSTS": "1",
                "MONITOR_LOG_LEVEL": "WARNING",
            }
            monitor = [sys.executable, "-m", "monitor", "poll"]
            wall, cpu, main = timed(monitor, env, servers)
            runs.append(Run("monitor: first round", wall, cpu, main, stored(work / "monitor.db")))
            wall, cpu, main = timed(monitor, env, servers)
            runs.append(
                Run("monitor: unchanged round (304)", wall, cpu, main, stored(work / "monitor.db"))
            )
        finally:
            server.terminate()
            server.wait()
        server, port = start_server(args, ignore_conditional=True, port=port)  # the same URLs
        try:
            wall, cpu, main = timed(monitor, env, {server.pid})
            runs.append(
                Run(
                    "monitor: unchanged round (200, same bytes)",
                    wall,
                    cpu,
                    main,
                    stored(work / "monitor.db"),
                )
            )
        finally:
            server.terminate()
            server.wait()
    latency_bound = args.feeds * args.latency / args.concurrency
    parse = parse_cpu(args)
    print(
        f"{args.feeds} feeds x {args.items} items, {args.latency * 1000:.0f} ms per request, "
        f"concurrency {args.concurrency}, {HOSTS} hosts, {os.cpu_count()} cores"
    )
    print(
        f"latency bound {latency_bound:.1f} s; feedparser CPU of the round {parse:.1f} s "
        f"(over 2 cores {parse / 2:.1f} s); bound max(...) = {max(latency_bound, parse / 2):.1f} s"
    )
    print(f"{'run':<50} {'wall s':>8} {'CPU s':>8} {'main s':>8} {'items':>8}")
    for run in runs:
        items = "" if run.items is None else str(run.items)
        print(f"{run.name:<50} {run.wall:>8.1f} {run.cpu:>8.1f} {run.main:>8.1f} {items:>8}")
    print("(CPU s: user + system of every process of the run; main s: of its first process)")
    plain, first = runs[0], runs[1]
    print(
        f"first round / plain poller: {first.wall / plain.wall:.2f} x wall; "
        f"items stored {first.items} of {expected}"
    )
    for run in runs[2:]:
        print(
            f"{run.name}: {run.wall / latency_bound:.2f} x the latency bound, "
            f"{100 * run.cpu / first.cpu:.0f}% of the first round's CPU"
        )


if __name__ == "__main__":
    main()
