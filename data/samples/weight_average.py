"""Do the weights of one run, averaged over its kept states, move the balls straighter than any one state?

    python data/samples/weight_average.py runs/td16-independent-24k --steps 12000 18000 24000 \
        --to runs/td16-independent-average.pt

A run with a constant learning rate never settles: every step moves the weights by about the same amount, and the EMA
that sampling uses (decay 0.999) averages only the last thousand or so steps. If part of the misplaced balls of a
generated frame is that wander (the same frame's error changes from one kept state to the next), then averaging states
far apart cancels it, as stochastic weight averaging does for classifiers (Izmailov et al. 2018) and a longer EMA does
for diffusion models (Karras et al. 2024, post-hoc EMA). This script takes the EMA weights of the kept states
``--steps`` of run directory RUN (``train --keep-every``: ``dit-stepNNNNNN.pt``), averages them in float32 with equal
weights and writes an export (``--to``) that every command loads: the run's export
(:func:`ardiff_edu.pipeline.export_checkpoint`, its tokenizer and latent statistics) with the averaged DiT in place of
the last state's, and the steps it averaged in ``meta["average_of"]``. Score it like any checkpoint (``evaluate
--checkpoint``). Not in the paper; no shipped file is made this way.
"""

import argparse
from pathlib import Path

import torch

from ardiff_edu import checkpoint as ckpt
from ardiff_edu.config import TrainConfig, first_mismatch
from ardiff_edu.finetune import ARCHITECTURE
from ardiff_edu.pipeline import export_checkpoint
from ardiff_edu.utils import atomic_torch_save


def kept_states(run: Path, steps: list[int]) -> list[dict]:
    """The kept run checkpoints of ``steps``; a clear error naming a missing step and the steps that are kept."""
    if len(steps) < 2 or len(set(steps)) != len(steps):
        raise ValueError(f"--steps must name at least two different kept steps, got {steps}")
    states = []
    for step in steps:
        path = ckpt.snapshot_path(run, "dit", step)
        if not path.is_file():
            kept = sorted(int(p.stem.split("step")[1]) for p in run.glob("dit-step*.pt"))
            raise ValueError(f"step {step} is not kept in {str(run)!r}: kept steps are {kept}")
        states.append(ckpt.load_file(path))
    first = TrainConfig.from_dict(states[0]["config"])
    for step, state in zip(steps, states):
        name = first_mismatch(first, TrainConfig.from_dict(state["config"]), ARCHITECTURE)
        if name is not None:
            raise ValueError(f"the state of step {step} has another {name} than step {steps[0]}'s: not one model")
    return states


def average(state_dicts: list[dict]) -> dict:
    """The float32 mean of every floating-point tensor (equal weights); other tensors must agree and are kept."""
    out = {}
    for name, first in state_dicts[0].items():
        if first.is_floating_point():
            out[name] = torch.stack([sd[name].float() for sd in state_dicts]).mean(0)
        else:
            if not all(torch.equal(sd[name], first) for sd in state_dicts):
                raise ValueError(f"{name} differs between the states and is not a floating-point weight")
            out[name] = first
    return out


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a run directory with kept DiT states (train --keep-every)")
    p.add_argument("--steps", type=int, nargs="+", required=True, help="the kept steps to average")
    p.add_argument("--to", type=Path, required=True, help="the export to write")
    args = p.parse_args(argv)
    states = kept_states(args.run, args.steps)
    weights = average([s["ema"] for s in states])
    ck = export_checkpoint(args.run)
    ck["dit"] = {k: v.half() if v.is_floating_point() else v for k, v in weights.items()}
    ck["meta"]["average_of"] = {"run": str(args.run), "steps": list(args.steps)}
    return atomic_torch_save(ck, args.to)


if __name__ == "__main__":
    print(main())
