"""Where the time of one benchmark case goes: torch.profiler's table of its operators, and the
FLOPs of one call (torch.utils.flop_counter).

    python scripts/profile_case.py train-dgm-b32            # the DGM-trained training step
    python scripts/profile_case.py fusion-fu_b_attn-b32 fusion-fu_a_attn-b32 --flops-only

The cases are ``mezoo/bench.py``'s (``mezoo bench`` and ``pytest benchmarks/`` time them).
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from mezoo import bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="+", help=f"case names: {', '.join(c.name for c in bench.CASES)}")
    parser.add_argument("--calls", type=int, default=2, help="profiled calls (after one warm-up call)")
    parser.add_argument("--rows", type=int, default=15)
    parser.add_argument("--flops-only", action="store_true")
    args = parser.parse_args()
    by_name = {c.name: c for c in bench.CASES}
    for name in args.cases:
        if name not in by_name:
            parser.error(f"unknown case {name!r}; cases: {', '.join(by_name)}")
        run = by_name[name].setup(torch.device("cpu"), "fp32")
        run()
        with FlopCounterMode(display=False) as counter:
            run()
        print(f"{name}: {counter.get_total_flops() / 1e9:.2f} GFLOP a call")
        if args.flops_only:
            continue
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(args.calls):
                run()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


if __name__ == "__main__":
    main()
