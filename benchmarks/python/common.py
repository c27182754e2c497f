"""Task functions and timing helpers shared by the Python benchmark scripts.

The task functions are the seeds' own code (is_prime from tutorial 003, count_primes
from tutorials 001/002), so Python runs exactly what its users would write.
"""
import json
import math
import platform
import sys
import time


def is_prime(n):
    """CPU-bound primality check - pure Python (tutorial 003)."""
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    for i in range(3, int(math.sqrt(n)) + 1, 2):
        if n % i == 0:
            return False
    return True


def count_primes(start, end):
    """Count primes in range (tutorials 001/002)."""
    return sum(1 for n in range(start, end) if is_prime(n))


def factorial(n):
    """n! by the plain product loop, as the Node side computes it."""
    product = 1
    for i in range(2, n + 1):
        product *= i
    return product


def noop(*_args):
    return None


def ms_since(start):
    return (time.perf_counter() - start) * 1000.0


def measure(fn, warmup, repeats):
    """(milliseconds of each of `repeats` calls of fn() after `warmup` untimed calls, last value)."""
    value = None
    for _ in range(warmup):
        value = fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        samples.append(ms_since(start))
    return samples, value


def emit(rows, **extra):
    """Prints the result as one JSON line, the last line of output."""
    print(json.dumps({"python": platform.python_version(), "rows": rows, **extra}))
    sys.stdout.flush()
