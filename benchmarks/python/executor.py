"""Executor submit round trips in Python: ProcessPoolExecutor.submit(noop).

usage: executor.py SUBMITS ROUND_TRIPS WORKERS WARMUP REPEATS
Rows: submit throughput (all futures in flight) in tasks/s; serial round trips in µs.
"""
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from common import emit, measure, noop


def main():
    submits, round_trips, workers, warmup, repeats = (int(arg) for arg in sys.argv[1:6])
    with ProcessPoolExecutor(max_workers=workers) as executor:
        list(executor.map(noop, range(workers * 4)))

        def burst():
            futures = [executor.submit(noop) for _ in range(submits)]
            return [f.result() for f in futures]

        burst_ms, _ = measure(burst, warmup, repeats)
        latencies = []
        for repeat in range(warmup + repeats):
            for _ in range(round_trips):
                start = time.perf_counter()
                executor.submit(noop).result()
                if repeat >= warmup:
                    latencies.append((time.perf_counter() - start) * 1e6)
    emit([
        {"label": "Python ProcessPoolExecutor.submit", "samples": [submits / (ms / 1000.0) for ms in burst_ms]},
        {"label": "Python ProcessPoolExecutor.submit", "samples": latencies},
    ])


if __name__ == "__main__":
    main()
