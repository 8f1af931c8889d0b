"""Command line: ``python -m ardiff_edu {train,sample,evaluate,prepare,plan,bench} ...``.

Each command's ``main(argv)`` lives in the module that owns it; this file only dispatches, importing lazily so that
``--help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": ("ardiff_edu.cli:train_main",
              "train the frame tokenizer or the AR-Diffusion DiT (torchrun: many processes)"),
    "sample": ("ardiff_edu.cli:sample_main", "generate videos from a checkpoint with the asynchronous sampler"),
    "evaluate": ("ardiff_edu.evaluate:main",
                 "score checkpoints on a fixed protocol: tracker, toy FVD, sanity rows, 95 % CIs"),
    "prepare": ("ardiff_edu.data.cache:main", "cache a benchmark dataset (UCF-101, Sky, Taichi, Face) as shards"),
    "plan": ("ardiff_edu.plan:main", "parameters, FLOPs, memory per GPU and GPU-hours of a preset (the paper's size)"),
    "bench": ("ardiff_edu.bench:main", "print speed benchmarks (ratios against a baseline measured in the same run)"),
}


def _usage() -> str:
    lines = ["usage: python -m ardiff_edu COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<9} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "python -m ardiff_edu COMMAND --help shows the options of one command."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}; expected one of {sorted(COMMANDS)}\n\n{_usage()}", file=sys.stderr)
        return 2
    module, _, function = COMMANDS[command][0].partition(":")
    return int(getattr(importlib.import_module(module), function)(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
