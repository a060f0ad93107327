"""An optimizer step against the memory-bandwidth roofline: implementation x layout.

An optimizer step is memory-bound. Adam reads p, g, m, v and writes p, m, v: 7 accesses per
parameter (28 bytes in float32); SGD with momentum reads p, g, b and writes p, b: 5. The fastest a
step can be is those bytes at the speed of a device-to-device copy, measured here on the same
device. For each implementation (torch.optim's for-loop, foreach and fused; gdbook's per-tensor
class and its flat optimizer on each available backend) and each layout (one tensor holding all
parameters; many tensors of mixed sizes, as in a real model) this prints ms per step, the achieved
GB/s and that as a fraction of copy bandwidth, and writes the same as JSON.

    python benchmarks/optim_roofline.py                 # 2^26 parameters, on CUDA when present
    python benchmarks/optim_roofline.py --quick         # seconds, on CPU: checks the script runs
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np
import torch

import gdbook.torch as gt
from gdbook.torch.optim import backends

ACCESSES = {"adam": 7, "adamw": 7, "sgd": 5}  # element reads + writes per parameter per step
HYPER = {"adam": dict(lr=1e-3), "adamw": dict(lr=1e-3, weight_decay=1e-2), "sgd": dict(lr=1e-3, momentum=0.9)}
TORCH = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
GDBOOK = {"adam": (gt.Adam, gt.FlatAdam), "adamw": (gt.AdamW, gt.FlatAdamW), "sgd": (gt.SGD, gt.FlatSGD)}


def layout_sizes(numel: int, tensors: int, seed: int = 0) -> list[int]:
    """``tensors`` sizes summing to ``numel``, log-normally spread (a few large matrices, many small
    vectors), in a fixed shuffled order."""
    weights = np.random.default_rng(seed).lognormal(0.0, 2.0, tensors)
    sizes = np.maximum(1, np.floor(weights / weights.sum() * numel)).astype(int)
    sizes[np.argmax(sizes)] += numel - sizes.sum()
    return sizes.tolist()


def implementations(optimizer: str, device: torch.device, compile_: bool) -> dict:
    """Name -> function(params) -> optimizer, for every implementation that runs on ``device``."""
    hyper, torch_cls = HYPER[optimizer], TORCH[optimizer]
    per_tensor, flat = GDBOOK[optimizer]
    impls = {
        "torch.optim for-loop": lambda ps: torch_cls(ps, foreach=False, **hyper),
        "torch.optim foreach": lambda ps: torch_cls(ps, foreach=True, **hyper),
        "torch.optim fused": lambda ps: torch_cls(ps, fused=True, **hyper),
        f"gdbook {per_tensor.__name__}": lambda ps: per_tensor(ps, **hyper),
    }
    on_gpu = device.type == "cuda"
    flat_backends = ["eager"] + (["compile"] if compile_ else []) + (
        ["triton"] if on_gpu and backends.triton_kernels() is not None else [])
    for backend in flat_backends:
        impls[f"gdbook {flat.__name__}[{backend}]"] = lambda ps, b=backend: flat(ps, backend=b, **hyper)
    return impls


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.machine()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(fn, device: torch.device, warmup: int, iters: int, repeats: int) -> float:
    """The best over ``repeats`` of the mean time of ``iters`` back-to-back calls, after ``warmup`` calls
    (the best, not the median: interference from other work only ever adds time)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(iters):
            fn()
        synchronize(device)
        times.append((time.perf_counter() - start) / iters)
    return min(times)


def copy_bandwidth(numel: int, dtype: torch.dtype, device: torch.device, timing: dict) -> float:
    """Bytes per second of ``dst.copy_(src)`` over ``numel`` elements (one read and one write each)."""
    src = torch.randn(numel, dtype=dtype, device=device)
    dst = torch.empty_like(src)
    seconds = seconds_per_call(lambda: dst.copy_(src), device, **timing)
    return 2 * numel * src.element_size() / seconds


def measure(make, sizes: list[int], dtype: torch.dtype, device: torch.device, timing: dict) -> float:
    """Seconds per ``step()`` of the optimizer ``make(params)`` over parameters of ``sizes``."""
    generator = torch.Generator(device=device).manual_seed(0)
    params = []
    for size in sizes:
        p = torch.randn(size, dtype=dtype, device=device, generator=generator).requires_grad_()
        p.grad = 1e-3 * torch.randn(size, dtype=dtype, device=device, generator=generator)
        params.append(p)
    optimizer = make(params)
    return seconds_per_call(optimizer.step, device, **timing)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizer", choices=sorted(ACCESSES), default="adam")
    parser.add_argument("--device", default=None, help="default: cuda when present, else cpu")
    parser.add_argument("--numel", type=int, default=None, help="parameters in all (default 2^26; --quick 2^18)")
    parser.add_argument("--tensors", type=int, default=200, help="tensors in the mixed layout")
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                        help="also time FlatAdam[compile] (default: on CUDA only; slow to compile on CPU)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and few repeats, for a smoke test")
    parser.add_argument("--json", type=Path, default=None,
                        help="where to write the results (default benchmarks/results/optim_roofline_<device>.json)")
    args = parser.parse_args(argv)

    device = torch.device(args.device) if args.device else gt.device()
    numel = args.numel or (2 ** 18 if args.quick else 2 ** 26)
    tensors = min(args.tensors, 20) if args.quick else args.tensors
    timing = dict(warmup=3, iters=10, repeats=5) if args.quick else dict(warmup=10, iters=50, repeats=5)
    dtype = torch.float32
    compile_ = device.type == "cuda" if args.compile is None else args.compile

    copy = copy_bandwidth(numel, dtype, device, timing)
    step_bytes = ACCESSES[args.optimizer] * numel * torch.finfo(dtype).bits // 8
    layouts = {"1 tensor": [numel], f"{tensors} tensors": layout_sizes(numel, tensors)}
    results = []
    for name, make in implementations(args.optimizer, device, compile_).items():
        for layout, sizes in layouts.items():
            seconds = measure(make, sizes, dtype, device, timing)
            results.append({"implementation": name, "layout": layout, "ms_per_step": 1e3 * seconds,
                            "gb_per_s": step_bytes / seconds / 1e9, "fraction_of_copy": step_bytes / seconds / copy})

    report = {"optimizer": args.optimizer, "device": str(device), "device_name": device_name(device),
              "torch": torch.__version__, "dtype": str(dtype), "numel": numel, "bytes_per_step": step_bytes,
              "copy_gb_per_s": copy / 1e9, "results": results}
    print(f"{args.optimizer} on {report['device']} ({report['device_name']}), {numel:,} float32 parameters, "
          f"{step_bytes / 1e6:.1f} MB per step; copy bandwidth {copy / 1e9:.1f} GB/s")
    print(f"{'implementation':28s} {'layout':12s} {'ms/step':>9s} {'GB/s':>8s} {'of copy':>8s}")
    for r in results:
        print(f"{r['implementation']:28s} {r['layout']:12s} {r['ms_per_step']:9.3f} {r['gb_per_s']:8.1f} "
              f"{r['fraction_of_copy']:8.2f}")
    path = args.json or Path(__file__).parent / "results" / f"optim_roofline_{device.type}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {path}")
    return report


if __name__ == "__main__":
    main()
