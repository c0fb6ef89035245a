"""`python -m bench [--messages N] [--rate R] [--only NAME]`: run the benchmarks and print their figures."""

from __future__ import annotations

import argparse
import json
import os
import platform

from bench import board, dispatch, scale, throughput, urgent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000, help="reminders to dispatch (default 10000)")
    parser.add_argument("--rate", type=float, default=25.0, help="configured global rate per second (default 25)")
    parser.add_argument("--users", type=int, default=40, help="simultaneous patients for the throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the throughput run (its best counts)")
    parser.add_argument("--patients", type=int, default=100_000, help="patients for the scale run (default 100000)")
    parser.add_argument(
        "--postgres", help="a PostgreSQL URL to run the throughput and scale benchmarks on too (it is emptied)"
    )
    parser.add_argument("--submits", type=int, default=40, help="urgent submits per phase of the urgent run")
    parser.add_argument(
        "--only", choices=["throughput", "dispatch", "scale", "urgent", "board"], help="run one benchmark"
    )
    arguments = parser.parse_args()
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    results: dict[str, object] = {"machine": machine}
    if arguments.only in (None, "throughput"):
        results["throughput"] = throughput.run(arguments.users, arguments.postgres, arguments.rounds)
    if arguments.only in (None, "scale"):
        results["scale"] = scale.run(arguments.patients, arguments.postgres)
    if arguments.only in (None, "dispatch"):
        results["dispatch"] = dispatch.run(arguments.messages, arguments.rate)
    if arguments.only in (None, "board"):
        results["board"] = board.run(arguments.patients)
    if arguments.only in (None, "urgent"):
        results["urgent"] = urgent.run(arguments.messages, arguments.rate, arguments.submits)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
