"""Workload 3 in Python: per-task overhead of multiprocessing.Pool.

usage: overhead.py FACTORIAL_OF FACTORIAL_TASKS NOOP_TASKS ROUND_TRIPS WORKERS WARMUP REPEATS
Rows: Pool.map(factorial, [n] * N, chunksize=1) in ms; apply_async no-op throughput in
tasks/s; serial Pool.apply(noop) latencies in microseconds.
"""
import multiprocessing
import sys
import time

from common import emit, factorial, measure, noop


def main():
    factorial_of, factorial_tasks, noop_tasks, round_trips, workers, warmup, repeats = (int(a) for a in sys.argv[1:8])
    inputs = [factorial_of] * factorial_tasks
    expected = factorial(factorial_of)
    with multiprocessing.Pool(processes=workers) as pool:
        pool.map(noop, range(workers * 4), chunksize=1)
        factorial_samples, results = measure(lambda: pool.map(factorial, inputs, chunksize=1), warmup, repeats)
        if len(results) != factorial_tasks or results[-1] != expected:
            raise SystemExit("wrong factorial results")

        def burst():
            pending = [pool.apply_async(noop) for _ in range(noop_tasks)]
            return [p.get() for p in pending]

        burst_ms, _ = measure(burst, warmup, repeats)
        rates = [noop_tasks / (ms / 1000.0) for ms in burst_ms]

        latencies = []
        for repeat in range(warmup + repeats):
            for _ in range(round_trips):
                start = time.perf_counter()
                pool.apply(noop)
                if repeat >= warmup:
                    latencies.append((time.perf_counter() - start) * 1e6)
    emit([
        {"label": "Python Pool.map (chunksize=1)", "samples": factorial_samples},
        {"label": "Python Pool.apply_async per task", "samples": rates},
        {"label": "Python Pool.apply", "samples": latencies},
    ])


if __name__ == "__main__":
    main()
