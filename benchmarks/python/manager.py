"""Workload 9 in Python: proxy calls on multiprocessing.Manager().dict() from a child process.

usage: manager.py CALLS WARMUP REPEATS
The child alternates d['k'] = i and d['k'] (CALLS calls in all) and reports calls/s.
"""
import multiprocessing
import sys
import time

from common import emit


def calls(d, count, out):
    start = time.perf_counter()
    for i in range(0, count, 2):
        d["k"] = i
        if d["k"] != i:
            raise SystemExit("lost write")
    out.put(count / (time.perf_counter() - start))


def sample(manager, count):
    d = manager.dict()
    out = multiprocessing.Queue()
    child = multiprocessing.Process(target=calls, args=(d, count, out))
    child.start()
    rate = out.get()
    child.join()
    return rate


def main():
    count, warmup, repeats = (int(arg) for arg in sys.argv[1:4])
    with multiprocessing.Manager() as manager:
        for _ in range(warmup):
            sample(manager, count)
        rates = [sample(manager, count) for _ in range(repeats)]
    emit([{"label": "Python Manager().dict() from a child process", "samples": rates}])


if __name__ == "__main__":
    main()
