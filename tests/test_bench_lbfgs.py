"""benchmarks/lbfgs_vs_scipy.py --quick runs, stops every solver by the same rule and writes its report."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "lbfgs_vs_scipy.py"


def test_quick_benchmark_writes_a_consistent_report(tmp_path):
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["problem"] == "Rosenbrock(dim=100)" and report["repeats"] == 2
    rows = report["rows"]
    assert set(rows) == {"scipy", "minimize", "iterate"}
    for name, row in rows.items():
        assert row["converged"] and row["grad_norm"] <= 1e-5, name
        assert row["error"] < 1e-4 and row["nfev"] == row["njev"] > row["nit"] > 100, name
        assert len(row["wall_s"]) == 2 and row["median_wall_s"] > 0
    assert rows["scipy"]["wall_ratio_to_scipy"] == 1.0
    # minimize and the bare loop take the same steps; only the bookkeeping differs
    assert all(rows["minimize"][k] == rows["iterate"][k] for k in ("nit", "nfev", "njev", "grad_norm"))
    assert rows["iterate"]["nfev_ratio_to_scipy"] == rows["iterate"]["nfev"] / rows["scipy"]["nfev"]
    for name in rows:
        assert name in proc.stdout
