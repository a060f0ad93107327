"""benchmarks/optim_roofline.py runs (--quick, on CPU) and reports every
implementation x layout."""

import json
import runpy
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from test_torch_optim import one_thread  # noqa: E402, F401  (an autouse fixture)

SCRIPT = Path(__file__).parent.parent / "benchmarks" / "optim_roofline.py"


def run_quick(tmp_path, *args):
    main = runpy.run_path(str(SCRIPT))["main"]
    report = main(
        [
            "--quick",
            "--numel",
            "65536",
            "--tensors",
            "8",
            "--json",
            str(tmp_path / "roofline.json"),
            *args,
        ]
    )
    assert json.loads((tmp_path / "roofline.json").read_text()) == report
    return report


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_quick_roofline_on_cpu(tmp_path, capsys, optimizer):
    report = run_quick(
        tmp_path, "--device", "cpu", "--optimizer", optimizer, "--threads", "1"
    )
    table = capsys.readouterr().out
    implementations = {r["implementation"] for r in report["results"]}
    flat = {"adam": "FlatAdam", "adamw": "FlatAdamW", "sgd": "FlatSGD"}[
        optimizer
    ]
    assert {
        "torch.optim for-loop",
        "torch.optim foreach",
        "torch.optim fused",
        f"gdbook {flat}[fused]",
        f"gdbook {flat}[eager]",
    } <= implementations
    assert {
        r["implementation"] for r in report["results"] if r["default"]
    } == {f"gdbook {flat}[fused]"}
    assert {r["layout"] for r in report["results"]} == {
        "1 tensor",
        "8 tensors",
    }
    assert len(report["results"]) == 2 * len(implementations)
    assert (
        report["bytes_per_step"]
        == {"adam": 28, "adamw": 28, "sgd": 20}[optimizer] * report["numel"]
    )
    assert report["threads"] == 1 and report["copy_gb_per_s"] > 0
    for r in report["results"]:
        assert r["ms_per_step"] > 0 and r["fraction_of_copy"] > 0
        assert f"{r['implementation']:28s} {r['layout']:12s}" in table
        assert table.count(f"{r['implementation']:28s} {r['layout']:12s}") == 1
        assert (f"{r['fraction_of_copy']:8.2f} *" in table) >= r["default"]


@pytest.mark.gpu
def test_quick_roofline_on_cuda(tmp_path):
    from gdbook.torch.optim import backends

    report = run_quick(tmp_path, "--device", "cuda", "--no-compile")
    has_triton = any(
        r["implementation"].endswith("[triton]") for r in report["results"]
    )
    assert has_triton == (backends.triton_kernels() is not None)
    assert all(r["fraction_of_copy"] > 0 for r in report["results"])
