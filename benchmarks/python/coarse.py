"""Workload 1 in Python: count_primes over equal ranges, sequential vs ProcessPoolExecutor.

usage: coarse.py LIMIT PARTS WORKERS WARMUP REPEATS
The seed's code (tutorial 001): executor.submit(count_primes, s, e) per range.
"""
import sys
from concurrent.futures import ProcessPoolExecutor

from common import count_primes, emit, measure, noop


def main():
    limit, parts, workers, warmup, repeats = (int(arg) for arg in sys.argv[1:6])
    step = -(-limit // parts)
    ranges = [(i * step, min(limit, (i + 1) * step)) for i in range(parts)]

    def sequential():
        return sum(count_primes(s, e) for s, e in ranges)

    with ProcessPoolExecutor(max_workers=workers) as executor:
        list(executor.map(noop, range(workers * 2)))  # start every worker before timing

        def parallel():
            futures = [executor.submit(count_primes, s, e) for s, e in ranges]
            return sum(f.result() for f in futures)

        seq_samples, expected = measure(sequential, warmup, repeats)
        par_samples, total = measure(parallel, warmup, repeats)
    if total != expected:
        raise SystemExit(f"wrong total {total} != {expected}")
    emit([
        {"label": "Python sequential loop", "samples": seq_samples},
        {"label": "Python ProcessPoolExecutor.submit", "samples": par_samples},
    ], count=total)


if __name__ == "__main__":
    main()
