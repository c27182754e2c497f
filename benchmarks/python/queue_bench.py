"""Workload 5 in Python: multiprocessing.Queue, one way and round trip.

usage: queue_bench.py COUNT ROUND_TRIPS WARMUP REPEATS
(Not named queue.py: that would shadow the standard library's queue module.)
"""
import multiprocessing
import sys
import time

from common import emit


def consume(queue, count, done):
    id_sum = 0
    for _ in range(count):
        id_sum += queue.get()["id"]
    done.put(id_sum)


def produce(queue, count, go):
    go.wait()
    for i in range(count):
        queue.put({"id": i, "value": i * 0.5, "name": "item"})


def echo(inbox, outbox, count):
    for _ in range(count):
        outbox.put(inbox.get())


def one_way(count):
    queue, done, go = multiprocessing.Queue(), multiprocessing.Queue(), multiprocessing.Event()
    consumer = multiprocessing.Process(target=consume, args=(queue, count, done))
    producer = multiprocessing.Process(target=produce, args=(queue, count, go))
    consumer.start()
    producer.start()
    time.sleep(0.2)  # both processes up before the clock starts
    start = time.perf_counter()
    go.set()
    id_sum = done.get()
    elapsed = time.perf_counter() - start
    producer.join()
    consumer.join()
    if id_sum != count * (count - 1) // 2:
        raise SystemExit("lost items")
    return count / elapsed


def round_trip(count):
    inbox, outbox = multiprocessing.Queue(), multiprocessing.Queue()
    worker = multiprocessing.Process(target=echo, args=(inbox, outbox, count))
    worker.start()
    inbox.put({"id": -1})
    outbox.get()  # the echo process is up
    start = time.perf_counter()
    for i in range(count - 1):
        inbox.put({"id": i, "value": i * 0.5, "name": "item"})
        if outbox.get()["id"] != i:
            raise SystemExit("round trip mismatch")
    elapsed = time.perf_counter() - start
    worker.join()
    return (count - 1) / elapsed


def main():
    count, round_trips, warmup, repeats = (int(arg) for arg in sys.argv[1:5])
    for _ in range(warmup):
        one_way(count)
        round_trip(round_trips)
    one_way_rates = [one_way(count) for _ in range(repeats)]
    round_trip_rates = [round_trip(round_trips) for _ in range(repeats)]
    emit([
        {"label": "Python multiprocessing.Queue", "samples": one_way_rates},
        {"label": "Python multiprocessing.Queue", "samples": round_trip_rates},
    ])


if __name__ == "__main__":
    main()
