"""An optimizer step against the memory-bandwidth roofline: implementation x
layout.

An optimizer step is memory-bound. Adam reads p, g, m, v and writes p, m, v: 7
accesses per parameter (28 bytes in float32); SGD with momentum reads p, g, b
and writes p, b: 5. The fastest a step can be is those bytes at the speed of a
device-to-device copy, measured here on the same device over as many bytes as
the step's arrays hold (so that neither fits in a cache where the other does
not), the best of its timings taken in turn with every implementation's.

For each implementation (torch.optim's for-loop, foreach and fused; gdbook's
per-tensor class and its flat optimizer on each available backend, the default
one marked) and each layout (one tensor holding all parameters; many tensors of
mixed sizes, as in a real model) this prints ms per step, the achieved GB/s and
that as a fraction of copy bandwidth, and writes the same as JSON. The two
layouts of one implementation are timed in turn, so that a change in the
machine's load between them does not pass for a difference between the layouts.

    # 2^26 parameters, on CUDA when present
    python benchmarks/optim_roofline.py
    # the CPU table
    python benchmarks/optim_roofline.py --device cpu --numel 4194304 \\
        --tensors 200
    # seconds, on CPU: checks the script runs
    python benchmarks/optim_roofline.py --quick
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

ACCESSES = {
    "adam": 7,
    "adamw": 7,
    "sgd": 5,
}  # element reads + writes per parameter per step
ARRAYS = {
    "adam": 4,
    "adamw": 4,
    "sgd": 3,
}  # arrays of numel elements a step touches: p, g and the state
HYPER = {
    "adam": dict(lr=1e-3),
    "adamw": dict(lr=1e-3, weight_decay=1e-2),
    "sgd": dict(lr=1e-3, momentum=0.9),
}
TORCH = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}
RESULTS = Path(__file__).parent / "results"
GDBOOK = {
    "adam": (gt.Adam, gt.FlatAdam),
    "adamw": (gt.AdamW, gt.FlatAdamW),
    "sgd": (gt.SGD, gt.FlatSGD),
}


def layout_sizes(numel: int, tensors: int, seed: int = 0) -> list[int]:
    """``tensors`` sizes summing to ``numel``, log-normally spread (a few large
    matrices, many small vectors), in a fixed shuffled order."""
    weights = np.random.default_rng(seed).lognormal(0.0, 2.0, tensors)
    sizes = np.maximum(1, np.floor(weights / weights.sum() * numel)).astype(
        int
    )
    sizes[np.argmax(sizes)] += numel - sizes.sum()
    return sizes.tolist()


def implementations(
    optimizer: str, device: torch.device, compile_: bool
) -> dict:
    """Name -> function(params) -> optimizer, for every implementation that
    runs on ``device``."""
    hyper, torch_cls = HYPER[optimizer], TORCH[optimizer]
    per_tensor, flat = GDBOOK[optimizer]
    impls = {
        "torch.optim for-loop": lambda ps: torch_cls(
            ps, foreach=False, **hyper
        ),
        "torch.optim foreach": lambda ps: torch_cls(ps, foreach=True, **hyper),
        "torch.optim fused": lambda ps: torch_cls(ps, fused=True, **hyper),
        f"gdbook {per_tensor.__name__}": lambda ps: per_tensor(ps, **hyper),
    }
    for backend in flat_backends(flat, device, compile_):
        impls[f"gdbook {flat.__name__}[{backend}]"] = lambda ps, b=backend: (
            flat(ps, backend=b, **hyper)
        )
    return impls


def flat_backends(
    flat: type, device: torch.device, compile_: bool
) -> list[str]:
    """The backends of the flat optimizer class ``flat`` that run on
    ``device`` (float32), the default (``"auto"``'s) first."""
    buffers = [torch.empty(0, device=device)]

    def runs(backend):
        try:
            return backends.resolve(backend, buffers, flat.kernel) == backend
        except ValueError:
            return False

    default = backends.resolve("auto", buffers, flat.kernel)
    others = (
        ["fused", "eager"] + (["compile"] if compile_ else []) + ["triton"]
    )
    return list(dict.fromkeys([default] + [b for b in others if runs(b)]))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(
                line.split(":", 1)[1].strip()
                for line in cpuinfo
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        return platform.machine()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_call(
    fns: dict, device: torch.device, warmup: int, iters: int, repeats: int
) -> dict:
    """For each function of ``fns``, the best over ``repeats`` of the mean time
    of ``iters`` back-to-back calls, after ``warmup`` calls; the functions take
    turns at each repeat (the best, not the median: interference from other
    work only ever adds time)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            start = time.perf_counter()
            for _ in range(iters):
                fn()
            synchronize(device)
            times[name].append((time.perf_counter() - start) / iters)
    return {name: min(seconds) for name, seconds in times.items()}


def copy_function(numel: int, dtype: torch.dtype, device: torch.device):
    """``dst.copy_(src)`` over ``numel`` elements (one read and one write
    each)."""
    src = torch.randn(numel, dtype=dtype, device=device)
    dst = torch.empty_like(src)
    return lambda: dst.copy_(src)


def step_function(
    make, sizes: list[int], dtype: torch.dtype, device: torch.device
):
    """``step`` of the optimizer ``make(params)`` over new parameters of
    ``sizes``, with gradients."""
    generator = torch.Generator(device=device).manual_seed(0)
    params = []
    for size in sizes:
        p = torch.randn(
            size, dtype=dtype, device=device, generator=generator
        ).requires_grad_()
        p.grad = 1e-3 * torch.randn(
            size, dtype=dtype, device=device, generator=generator
        )
        params.append(p)
    return make(params).step


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--optimizer", choices=sorted(ACCESSES), default="adam"
    )
    parser.add_argument(
        "--device", default=None, help="default: cuda when present, else cpu"
    )
    parser.add_argument(
        "--numel",
        type=int,
        default=None,
        help="parameters in all (default 2^26; --quick 2^18)",
    )
    parser.add_argument(
        "--tensors", type=int, default=200, help="tensors in the mixed layout"
    )
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time FlatAdam[compile] (default: on CUDA only; slow to "
        "compile on CPU)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads (default: torch's)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and few repeats, for a smoke test",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where to write the results "
        "(default "
        "benchmarks/results/optim_roofline_<optimizer>_<device>.json)",
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device) if args.device else gt.device()
    numel = args.numel or (2**18 if args.quick else 2**26)
    tensors = min(args.tensors, 20) if args.quick else args.tensors
    timing = (
        dict(warmup=3, iters=10, repeats=5)
        if args.quick
        else dict(warmup=10, iters=50, repeats=5)
    )
    dtype = torch.float32
    compile_ = device.type == "cuda" if args.compile is None else args.compile

    copy_numel = (
        ARRAYS[args.optimizer] * numel // 2
    )  # src and dst hold as many bytes as the step's arrays
    copy_step, copy_seconds = copy_function(copy_numel, dtype, device), []
    step_bytes = (
        ACCESSES[args.optimizer] * numel * torch.finfo(dtype).bits // 8
    )
    layouts = {
        "1 tensor": [numel],
        f"{tensors} tensors": layout_sizes(numel, tensors),
    }
    flat = GDBOOK[args.optimizer][1]
    default = (
        f"gdbook {flat.__name__}[{flat_backends(flat, device, compile_)[0]}]"
    )
    results = []
    for name, make in implementations(
        args.optimizer, device, compile_
    ).items():
        steps = {
            layout: step_function(make, sizes, dtype, device)
            for layout, sizes in layouts.items()
        }
        seconds = seconds_per_call(
            {**steps, "copy": copy_step}, device, **timing
        )  # the copy takes turns
        copy_seconds.append(seconds.pop("copy"))
        for layout, t in seconds.items():
            results.append(
                {
                    "implementation": name,
                    "default": name == default,
                    "layout": layout,
                    "ms_per_step": 1e3 * t,
                    "gb_per_s": step_bytes / t / 1e9,
                }
            )
    copy = (
        2 * copy_numel * torch.finfo(dtype).bits // 8 / min(copy_seconds)
    )  # bytes per second
    for r in results:
        r["fraction_of_copy"] = 1e9 * r["gb_per_s"] / copy

    report = {
        "optimizer": args.optimizer,
        "device": str(device),
        "device_name": device_name(device),
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "torch": torch.__version__,
        "dtype": str(dtype),
        "numel": numel,
        "bytes_per_step": step_bytes,
        "copy_gb_per_s": copy / 1e9,
        "results": results,
    }
    threads = f", {report['threads']} threads" if report["threads"] else ""
    print(
        f"{args.optimizer} on {report['device']} "
        f"({report['device_name']}{threads}), {numel:,} float32 "
        f"parameters, {step_bytes / 1e6:.1f} MB per step; copy bandwidth "
        f"{copy / 1e9:.1f} GB/s "
        f"(* the flat optimizer's default backend)"
    )
    print(
        f"{'implementation':28s} {'layout':12s} {'ms/step':>9s} "
        f"{'GB/s':>8s} {'of copy':>8s}"
    )
    for r in results:
        print(
            f"{r['implementation']:28s} {r['layout']:12s} "
            f"{r['ms_per_step']:9.3f} {r['gb_per_s']:8.1f} "
            f"{r['fraction_of_copy']:8.2f}" + (" *" if r["default"] else "")
        )
    path = (
        args.json
        or RESULTS / f"optim_roofline_{args.optimizer}_{device.type}.json"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {path}")
    return report


if __name__ == "__main__":
    main()
