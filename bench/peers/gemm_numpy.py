# numpy's float32 matmul (OpenBLAS sgemm) on the shapes bench/kernels/gemm.bench.ts sends on stdin,
# with the same stored layouts: transA multiplies a [K,M] array's .T view, which numpy hands to BLAS
# as a transpose flag (no copy). Prints {"gflops": [...], ...} as JSON on its last line.
from timing import median_seconds
import json
import sys
import time

import numpy as np


def main():
    req = json.load(sys.stdin)
    rng = np.random.default_rng(0)
    out = []
    for case in req["cases"]:
        m, n, k, ta, tb = case["m"], case["n"], case["k"], case["transA"], case["transB"]
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        c = np.empty((m, n), dtype=np.float32)
        opa = a.T if ta else a
        opb = b.T if tb else b
        secs = median_seconds(lambda: np.dot(opa, opb, out=c), req.get("quick", False))
        out.append(2.0 * m * n * k / secs / 1e9)
    info = {"numpy": np.__version__, "config": f"numpy {np.__version__}"}
    try:
        cfg = np.show_config(mode="dicts")
        info["blas"] = cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        pass
    print(json.dumps({"gflops": out, "info": info}))


if __name__ == "__main__":
    main()
