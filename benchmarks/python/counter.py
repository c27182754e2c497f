"""Workload 4 in Python: the seed's shared counter (tutorial 003).

usage: counter.py WORKERS PER_WORKER UNCONTENDED WARMUP REPEATS
Rows: increments/s of WORKERS processes doing `with counter.get_lock(): counter.value += 1`;
uncontended acquire/release pairs/s of a multiprocessing RLock and Lock in one process.
"""
import multiprocessing
import sys
import time

from common import emit


def increment(counter, n, go):
    go.wait()
    for _ in range(n):
        with counter.get_lock():
            counter.value += 1


def run_once(workers, per_worker):
    counter = multiprocessing.Value('i', 0)
    go = multiprocessing.Event()
    processes = [multiprocessing.Process(target=increment, args=(counter, per_worker, go)) for _ in range(workers)]
    for p in processes:
        p.start()
    # Every process is started and parked on the event before the clock starts, so the
    # time is the increments only (and the joins), like the Node side's running pool.
    time.sleep(0.2)
    start = time.perf_counter()
    go.set()
    for p in processes:
        p.join()
    elapsed = time.perf_counter() - start
    if counter.value != workers * per_worker:
        raise SystemExit(f"lost updates: {counter.value}")
    return workers * per_worker / elapsed


def uncontended(lock, n):
    start = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    return n / (time.perf_counter() - start)


def main():
    workers, per_worker, pairs, warmup, repeats = (int(arg) for arg in sys.argv[1:6])
    for _ in range(warmup):
        run_once(workers, per_worker)
    rates = [run_once(workers, per_worker) for _ in range(repeats)]
    rlock_rates = [uncontended(multiprocessing.RLock(), pairs) for _ in range(repeats)]
    lock_rates = [uncontended(multiprocessing.Lock(), pairs) for _ in range(repeats)]
    emit([
        {"label": "Python Value + get_lock()", "samples": rates},
        {"label": "Python multiprocessing.RLock acquire/release", "samples": rlock_rates},
        {"label": "Python multiprocessing.Lock acquire/release", "samples": lock_rates},
    ])


if __name__ == "__main__":
    main()
