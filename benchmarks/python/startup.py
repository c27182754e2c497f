"""Workload 7 in Python: pool start-up to the first result, and teardown; a
Process from start() to join(); and worker recycling: Pool(WORKERS,
maxtasksperchild=3) running RECYCLE_TASKS no-op tasks at chunksize 1.

usage: startup.py WORKERS WARMUP REPEATS [RECYCLE_TASKS [MAX_TASKS_PER_CHILD]]
"""
import multiprocessing
import sys
import time
from concurrent.futures import ProcessPoolExecutor

from common import emit, ms_since, noop


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


def process_cycle():
    start = time.perf_counter()
    process = multiprocessing.Process(target=noop)
    process.start()
    process.join()
    return ms_since(start)


def recycle_cycle(workers, tasks, per_child):
    """One warm-up apply (every pool is up), then the timed map; teardown untimed."""
    pool = multiprocessing.Pool(processes=workers, maxtasksperchild=per_child)
    pool.apply(noop)
    start = time.perf_counter()
    results = pool.map(noop, range(tasks), chunksize=1)
    elapsed = ms_since(start)
    assert len(results) == tasks
    pool.close()
    pool.join()
    return elapsed


def main():
    workers, warmup, repeats = (int(arg) for arg in sys.argv[1:4])
    recycle_tasks = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    per_child = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    rows = []
    for label, cycle in (("Python multiprocessing.Pool", pool_cycle), ("Python ProcessPoolExecutor", executor_cycle)):
        for _ in range(warmup):
            cycle(workers)
        pairs = [cycle(workers) for _ in range(repeats)]
        rows.append({"label": label, "kind": "startup", "samples": [p[0] for p in pairs]})
        rows.append({"label": label, "kind": "teardown", "samples": [p[1] for p in pairs]})
    for _ in range(warmup):
        process_cycle()
    rows.append(
        {"label": "Python multiprocessing.Process", "kind": "process", "samples": [process_cycle() for _ in range(repeats)]}
    )
    for _ in range(warmup):
        recycle_cycle(workers, recycle_tasks, per_child)
    rows.append(
        {
            "label": f"Python Pool({workers}, maxtasksperchild={per_child})",
            "kind": "recycle",
            "samples": [recycle_cycle(workers, recycle_tasks, per_child) for _ in range(repeats)],
        }
    )
    emit(rows)


if __name__ == "__main__":
    main()
