"""benchmarks/lbfgs_vs_scipy.py --quick runs, stops every solver by the same
rule and writes its report."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import scipy.optimize

from gdbook.problems import Rosenbrock

SCRIPT = (
    Path(__file__).resolve().parents[1] / "benchmarks" / "lbfgs_vs_scipy.py"
)


def load_benchmark():
    spec = importlib.util.spec_from_file_location("lbfgs_vs_scipy", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_benchmark_writes_a_consistent_report(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert (
        report["problem"] == "Rosenbrock(dim=100)" and report["repeats"] == 2
    )
    rows = report["rows"]
    assert set(rows) == {"scipy", "minimize"}
    for name, row in rows.items():
        assert row["converged"] and row["grad_norm"] <= 1e-5, name
        assert (
            row["error"] < 1e-4
            and row["nfev"] == row["njev"] > row["nit"] > 100
        ), name
        assert len(row["wall_s"]) == 2 and row["median_wall_s"] > 0
    assert rows["scipy"]["wall_ratio_to_scipy"] == 1.0
    assert (
        rows["minimize"]["nfev_ratio_to_scipy"]
        == rows["minimize"]["nfev"] / rows["scipy"]["nfev"]
    )
    for name in rows:
        assert name in proc.stdout


def test_scipy_lbfgsb_stops_at_the_first_iterate_within_tol():
    r = Rosenbrock(dim=20)
    x0 = np.tile([-1.2, 1.0], 10)
    out = load_benchmark().scipy_lbfgsb(r, x0, tol=1e-6)
    assert out["grad_norm"] <= 1e-6 and out["nfev"] == out["njev"]

    def plain(
        maxiter,
    ):  # scipy with its own tests off, stopped by maxiter alone
        return scipy.optimize.minimize(
            r.value,
            x0,
            jac=r.grad,
            method="L-BFGS-B",
            options={"maxiter": maxiter, "gtol": 0.0, "ftol": 0.0},
        )

    np.testing.assert_array_equal(plain(out["nit"]).x, out["x"])
    assert np.linalg.norm(plain(out["nit"] - 1).jac) > 1e-6
    assert out["nfev"] == plain(out["nit"]).nfev
