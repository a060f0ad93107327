"""gdbook's L-BFGS against scipy.optimize.minimize(method="L-BFGS-B") on the
chained Rosenbrock function.

Both solvers start from x0 = (-1.2, 1, -1.2, 1, ...) in ``--dim`` dimensions,
keep m = 10 pairs, and stop by the same rule: at the first iterate x_k with
||grad f(x_k)||_2 <= tol (1e-5 by default). For scipy the rule is a callback
reading the gradient scipy has just evaluated at x_k, with scipy's own tests
switched off (gtol = ftol = 0); see :func:`scipy_lbfgsb`. Both call the same
``Rosenbrock.value`` and ``Rosenbrock.grad`` through the same counting wrapper,
``gdbook.problems.Counted``.

Two rows are timed, interleaved within each repeat so that they share the
machine's load:

* scipy     -- :func:`scipy_lbfgsb`;
* minimize  -- ``gdbook.minimize(problem, x0, LBFGS(), tol=tol)``, which also
  records the history (every iterate: nit x dim floats) and checks for
  divergence at every step.

Reported per row: iterations, f and grad evaluations, final ||grad f|| and f,
median wall-clock and CPU time over the repeats, and the median over repeats of
the time ratio to scipy's run in the same repeat. BLAS is limited to one thread
(``--blas-threads``): both solvers make many small BLAS calls, which OpenBLAS's
threads slow down rather than speed up on a busy machine.

    # 1000-D, 7 repeats, writes lbfgs_vs_scipy.json
    python benchmarks/lbfgs_vs_scipy.py
    # 100-D, 2 repeats: a few seconds
    python benchmarks/lbfgs_vs_scipy.py --quick
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg.lapack  # noqa: F401 -- both imported up front, so that no timed run pays for an import
import scipy.optimize  # noqa: F401
from threadpoolctl import threadpool_limits

import gdbook
from gdbook.problems import Counted, Rosenbrock
from gdbook.second_order import LBFGS

SOLVERS = ("scipy", "minimize")


def scipy_lbfgsb(
    problem, x0, tol: float = 1e-5, max_iter: int = 10_000, memory: int = 10
) -> dict:
    """``scipy.optimize.minimize(method="L-BFGS-B")`` stopped at the first
    iterate with ||grad f|| <= tol.

    scipy's own tests are switched off (gtol = ftol = 0): a callback ends the
    run at the first iterate with ||grad f|| <= tol, read from the gradient
    scipy evaluated there. Returns x, fun, grad_norm, nit, nfev, njev.
    """
    counted, last = Counted(problem), {}

    def grad(x):
        last["x"], last["g"] = x.copy(), counted.grad(x)
        return last["g"]

    def callback(intermediate_result):
        if not np.array_equal(
            intermediate_result.x, last["x"]
        ):  # not seen with L-BFGS-B: checked anyway
            raise RuntimeError(
                "scipy's iterate is not its last gradient evaluation"
            )
        if np.sqrt(np.dot(last["g"], last["g"])) <= tol:
            raise StopIteration

    result = scipy.optimize.minimize(
        counted.value,
        x0,
        jac=grad,
        method="L-BFGS-B",
        callback=callback,
        options={
            "maxiter": max_iter,
            "maxfun": 100 * max_iter,
            "maxcor": memory,
            "gtol": 0.0,
            "ftol": 0.0,
        },
    )
    return {
        "x": result.x,
        "fun": float(result.fun),
        "grad_norm": float(np.linalg.norm(result.jac)),
        "nit": int(result.nit),
        "nfev": counted.nfev,
        "njev": counted.njev,
    }


def run_once(name: str, problem, x0, tol: float, max_iter: int) -> dict:
    """One run of solver ``name``: its counts and final values, with wall and
    CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    if name == "scipy":
        out = scipy_lbfgsb(problem, x0, tol, max_iter)
    else:
        result = gdbook.minimize(
            problem, x0, LBFGS(), tol=tol, max_iter=max_iter
        )
        out = {
            "x": result.x,
            "fun": result.fun,
            "grad_norm": float(result.history["grad_norm"][-1]),
            "nit": result.nit,
            "nfev": result.nfev,
            "njev": result.njev,
        }
    out["wall_s"], out["cpu_s"] = (
        time.perf_counter() - wall,
        time.process_time() - cpu,
    )
    out["error"] = float(np.max(np.abs(out.pop("x") - problem.x_star)))
    return out


def benchmark(
    dim: int = 1000,
    repeats: int = 7,
    tol: float = 1e-5,
    max_iter: int = 20_000,
) -> dict:
    """Run every solver ``repeats`` times (interleaved) and summarise; counts
    must not vary between repeats."""
    problem = Rosenbrock(dim=dim)
    x0 = np.tile([-1.2, 1.0], dim // 2 + 1)[:dim]
    runs = {name: [] for name in SOLVERS}
    for _ in range(repeats):
        for name in SOLVERS:
            runs[name].append(run_once(name, problem, x0, tol, max_iter))
    rows = {}
    for name, outs in runs.items():
        counts = {
            key: outs[0][key]
            for key in ("nit", "nfev", "njev", "grad_norm", "fun", "error")
        }
        for out in outs[1:]:
            if any(out[key] != counts[key] for key in ("nit", "nfev", "njev")):
                raise RuntimeError(
                    f"{name}: counts differ between repeats: {out} vs {counts}"
                )
        rows[name] = {
            **counts,
            "converged": bool(counts["grad_norm"] <= tol),
            "wall_s": [out["wall_s"] for out in outs],
            "cpu_s": [out["cpu_s"] for out in outs],
            "median_wall_s": statistics.median(out["wall_s"] for out in outs),
            "median_cpu_s": statistics.median(out["cpu_s"] for out in outs),
            "wall_ratio_to_scipy": statistics.median(
                out["wall_s"] / ref["wall_s"]
                for out, ref in zip(outs, runs["scipy"], strict=True)
            ),
            "cpu_ratio_to_scipy": statistics.median(
                out["cpu_s"] / ref["cpu_s"]
                for out, ref in zip(outs, runs["scipy"], strict=True)
            ),
            "nfev_ratio_to_scipy": counts["nfev"] / runs["scipy"][0]["nfev"],
        }
    return {
        "problem": f"Rosenbrock(dim={dim})",
        "x0": "(-1.2, 1, -1.2, 1, ...)",
        "stopping_rule": f"first iterate with ||grad f||_2 <= {tol:g} "
        "(scipy: callback, gtol = ftol = 0)",
        "memory": 10,
        "repeats": repeats,
        "rows": rows,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "gdbook": gdbook.__version__,
        },
    }


def table(report: dict) -> str:
    """The report as a fixed-width text table."""
    head = (
        f"{'solver':>9} {'iters':>6} {'f evals':>8} {'g evals':>8} "
        f"{'||grad||':>9} {'max|x-x*|':>9} "
        f"{'wall s':>7} {'cpu s':>7} {'wall/sp':>8} {'cpu/sp':>7} "
        f"{'fev/sp':>7}"
    )
    lines = [
        f"{report['problem']} from {report['x0']}, m = {report['memory']}, "
        f"median of {report['repeats']} repeats; stop: "
        f"{report['stopping_rule']}",
        head,
    ]
    for name, r in report["rows"].items():
        lines.append(
            f"{name:>9} {r['nit']:6d} {r['nfev']:8d} {r['njev']:8d} "
            f"{r['grad_norm']:9.2e} "
            f"{r['error']:9.1e} {r['median_wall_s']:7.3f} "
            f"{r['median_cpu_s']:7.3f} "
            f"{r['wall_ratio_to_scipy']:8.2f} "
            f"{r['cpu_ratio_to_scipy']:7.2f} {r['nfev_ratio_to_scipy']:7.3f}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dim", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tol", type=float, default=1e-5)
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="0: leave BLAS threading as it is",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100-D, 2 repeats (a few seconds)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("lbfgs_vs_scipy.json"),
        help="JSON report",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.dim, args.repeats = 100, 2
    limits = (
        threadpool_limits(args.blas_threads) if args.blas_threads > 0 else None
    )
    try:
        report = benchmark(args.dim, args.repeats, args.tol)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    report["blas_threads"] = args.blas_threads or "default"
    print(table(report))
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")
    return 0 if all(r["converged"] for r in report["rows"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
