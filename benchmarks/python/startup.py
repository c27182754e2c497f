"""Workload 7 in Python: pool start-up to the first result, and teardown.

usage: startup.py WORKERS WARMUP REPEATS
"""
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from common import emit, noop


def pool_cycle(workers):
    start = time.perf_counter()
    pool = multiprocessing.Pool(processes=workers)
    pool.apply(noop)
    ready = time.perf_counter()
    pool.close()
    pool.join()
    return (ready - start) * 1000, (time.perf_counter() - ready) * 1000


def executor_cycle(workers):
    start = time.perf_counter()
    executor = ProcessPoolExecutor(max_workers=workers)
    executor.submit(noop).result()
    ready = time.perf_counter()
    executor.shutdown(wait=True)
    return (ready - start) * 1000, (time.perf_counter() - ready) * 1000


def main():
    workers, warmup, repeats = (int(arg) for arg in sys.argv[1:4])
    rows = []
    for label, cycle in (("Python multiprocessing.Pool", pool_cycle), ("Python ProcessPoolExecutor", executor_cycle)):
        for _ in range(warmup):
            cycle(workers)
        pairs = [cycle(workers) for _ in range(repeats)]
        rows.append({"label": label, "kind": "startup", "samples": [p[0] for p in pairs]})
        rows.append({"label": label, "kind": "teardown", "samples": [p[1] for p in pairs]})
    emit(rows)


if __name__ == "__main__":
    main()
