"""Time corr2d_loop, corr2d and F.conv2d on one 256x256 input with a 3x3 kernel (section 7.2).

The claim checked: ``corr2d`` (2-D tensors in and out) costs no more than about 1.2x a bare
``F.conv2d`` call on tensors that are already 4-D, i.e. its checks and reshapes are cheap.
The three are timed in the same run, interleaved, each as the best (and the median) of
several repeats, so that load from other processes hits all of them alike.

Usage: python bench/bench_ops.py [--size 256] [--repeats 15] [--threads 1]
The last line is ``RESULT corr2d_vs_conv2d=<ratio> loop_vs_conv2d=<ratio>`` (best-of times).
"""

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from convbook.ops import corr2d, corr2d_loop


def seconds_per_call(function: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return (time.perf_counter() - start) / calls


def calls_for(function: Callable[[], object], target_seconds: float = 0.02) -> int:
    """How many calls fill about ``target_seconds`` (at least 1)."""
    once = seconds_per_call(function, 1)
    return max(1, int(target_seconds / max(once, 1e-9)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="input height and width")
    parser.add_argument("--repeats", type=int, default=40, help="timed repeats of the fast paths")
    parser.add_argument("--loop-repeats", type=int, default=3, help="timed repeats of the loop")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, kernel = torch.randn(args.size, args.size), torch.randn(3, 3)
    x4, kernel4 = x[None, None].contiguous(), kernel[None, None].contiguous()
    torch.testing.assert_close(corr2d(x, kernel), corr2d_loop(x, kernel))  # same answer first

    candidates = {
        "F.conv2d": lambda: F.conv2d(x4, kernel4),
        "corr2d": lambda: corr2d(x, kernel),
    }
    for function in candidates.values():  # warm up caches and allocator
        seconds_per_call(function, 10)
    calls = {name: calls_for(function) for name, function in candidates.items()}
    times: dict[str, list[float]] = {name: [] for name in [*candidates, "corr2d_loop"]}
    for _ in range(args.repeats):
        for name, function in candidates.items():
            times[name].append(seconds_per_call(function, calls[name]))
    for _ in range(args.loop_repeats):
        times["corr2d_loop"].append(seconds_per_call(lambda: corr2d_loop(x, kernel), 1))
        times["F.conv2d"].append(seconds_per_call(candidates["F.conv2d"], calls["F.conv2d"]))

    best = {name: min(values) for name, values in times.items()}
    print(
        f"input {args.size}x{args.size}, kernel 3x3, torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s)"
    )
    print(f"{'function':<12} {'best ms':>10} {'median ms':>10} {'repeats':>8} {'vs conv2d':>10}")
    for name, values in times.items():
        ratio = best[name] / best["F.conv2d"]
        print(
            f"{name:<12} {best[name] * 1e3:>10.4f} {statistics.median(values) * 1e3:>10.4f} "
            f"{len(values):>8} {ratio:>10.2f}"
        )
    corr2d_ratio = best["corr2d"] / best["F.conv2d"]
    loop_ratio = best["corr2d_loop"] / best["F.conv2d"]
    print(f"RESULT corr2d_vs_conv2d={corr2d_ratio:.3f} loop_vs_conv2d={loop_ratio:.1f}")


if __name__ == "__main__":
    main()
