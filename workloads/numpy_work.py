"""NumPy kernels that release the GIL (matrix multiply or sort)."""

from __future__ import annotations

from typing import Any, Dict

from .base import Param, Workload


def _prepare(params: Dict[str, Any]) -> Dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(1234)
    n = params["n"]
    if params["op"] == "matmul":
        return {"a": rng.random((n, n)), "b": rng.random((n, n))}
    return {"a": rng.random(n * n)}


def _env(params: Dict[str, Any]) -> Dict[str, str]:
    threads = str(params["blas_threads"])
    return {
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }


def numpy_task(i: int, n: int = 300, op: str = "matmul", blas_threads: int = 1, a: Any = None, b: Any = None) -> float:
    import numpy as np

    if op == "matmul":
        out = a @ b
    else:
        out = np.sort(a)
    return float(out[0] if out.ndim == 1 else out[0, 0])


WORKLOAD = Workload(
    name="numpy",
    summary="NumPy matmul / sort: C code that releases the GIL",
    explanation=(
        "Each task multiplies two n x n matrices (or sorts n*n floats). NumPy "
        "drops the GIL inside these C loops, so threads of one process compute in "
        "parallel on shared arrays with no copy. A process pool must pickle the "
        "arrays to every worker and the result back, which it pays for in time "
        "and memory. BLAS threads are pinned to blas_threads per process so that "
        "workers x BLAS threads does not oversubscribe the CPUs."
    ),
    claims=("C13",),
    expect="threads scale like processes without the copy; GIL mostly released",
    expected_best="thread",
    task=numpy_task,
    params=(
        Param("n", int, 300, "matrix side (or sqrt of the array length for sort)", minimum=1, maximum=20_000),
        Param("op", str, "matmul", "matmul or sort", choices=("matmul", "sort")),
        Param("blas_threads", int, 1, "BLAS threads per process", minimum=1, maximum=1024),
    ),
    prepare=_prepare,
    env=_env,
    requires=("numpy",),
    default_tasks=60,
)
