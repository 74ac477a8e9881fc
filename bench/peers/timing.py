# Timing shared by the Python peers: the median of repeated calls after warm-up, as bench/harness.ts does.
import time


def median_seconds(fn, quick, min_seconds=1.0):
    for _ in range(1 if quick else 2):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < (1 if quick else 5) or time.perf_counter() - start < (0.1 * min_seconds if quick else min_seconds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]
