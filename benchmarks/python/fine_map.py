"""Workload 2 in Python: the seed's Pool.map(is_prime, numbers) (tutorial 003).

usage: fine_map.py FIRST END WORKERS WARMUP REPEATS
Rows: the sequential list comprehension, Pool.map at its default chunksize
(ceil(n / (4 * workers))), and Pool.map with chunksize=1.
"""
import multiprocessing
import sys

from common import emit, is_prime, measure, noop


def main():
    first, end, workers, warmup, repeats = (int(arg) for arg in sys.argv[1:6])
    numbers = list(range(first, end))

    def sequential():
        return [is_prime(n) for n in numbers]

    with multiprocessing.Pool(processes=workers) as pool:
        pool.map(noop, range(workers * 4), chunksize=1)  # every worker up before timing
        seq_samples, seq_result = measure(sequential, warmup, repeats)
        map_samples, map_result = measure(lambda: pool.map(is_prime, numbers), warmup, repeats)
        one_samples, one_result = measure(lambda: pool.map(is_prime, numbers, chunksize=1), warmup, repeats)
    if not (seq_result == map_result == one_result):
        raise SystemExit("results differ")
    emit([
        {"label": "Python sequential loop", "samples": seq_samples},
        {"label": "Python Pool.map (default chunksize)", "samples": map_samples},
        {"label": "Python Pool.map (chunksize=1)", "samples": one_samples},
    ], primes=sum(map_result))


if __name__ == "__main__":
    main()
