"""`python -m lab.client ADDRESS --rate R --duration S [--until NODE]`, run inside the client namespace:
requests to the floating IP at a fixed rate, each on a fresh connection, one JSON line per request
(`sent`, `done`, `node` or `error`). Bounded: at most R x S requests, each timing out after
TIMEOUT_SECONDS; with --until it stops LINGER_SECONDS after NODE first answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from dataclasses import asdict, dataclass

TIMEOUT_SECONDS = 1.0
LINGER_SECONDS = 0.5
_NODE = re.compile(rb"Hello from (\S+)")


@dataclass(frozen=True)
class Answer:
    sent: float
    done: float
    node: str | None
    error: str | None


async def request(vip: str, port: int) -> Answer:
    sent = time.time()
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            reader, writer = await asyncio.open_connection(vip, port)
            host = f"[{vip}]" if ":" in vip else vip
            writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            body = await reader.read()
            writer.close()
        match = _NODE.search(body)
        return Answer(
            sent, time.time(), match.group(1).decode() if match else None, None if match else "no node in the answer"
        )
    except (OSError, TimeoutError) as exc:
        return Answer(sent, time.time(), None, type(exc).__name__)


async def run(vip: str, port: int, rate: float, duration: float, until: str | None) -> None:
    interval = 1.0 / rate
    start = time.monotonic()
    stop_at = start + duration
    pending: set[asyncio.Task[Answer]] = set()

    def report(task: asyncio.Task[Answer]) -> None:
        nonlocal stop_at
        answer = task.result()
        print(json.dumps(asdict(answer)), flush=True)
        if until and answer.node == until:
            stop_at = min(stop_at, time.monotonic() + LINGER_SECONDS)

    for index in range(int(rate * duration)):
        tick = start + index * interval
        if tick >= stop_at:
            break
        await asyncio.sleep(max(0.0, tick - time.monotonic()))
        task = asyncio.create_task(request(vip, port))
        task.add_done_callback(report)
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.wait(pending)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.client")
    parser.add_argument("vip")
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds, at most")
    parser.add_argument("--until", help="stop shortly after this node first answers")
    args = parser.parse_args(argv)
    asyncio.run(run(args.vip, args.port, args.rate, args.duration, args.until))
    return 0


if __name__ == "__main__":
    sys.exit(main())
