"""What every experiment shares: run a stage once (resume it, refuse a folder trained otherwise), the spread
of per-seed results, and the verdict on paired gains."""

from __future__ import annotations

import dataclasses

import json
import statistics
from pathlib import Path

from fdsl.core.errors import FdslError


def setting(default, help: str, within=None):
    """A plan field: its value and what it does, which ``fdsl experiment ... --help`` prints; ``within`` (a
    ``fdsl.core.numbers`` range) bounds it on the command line and in the plan's check alike."""
    return dataclasses.field(default=default, metadata={"help": help, "within": within})


def parse_seeds(text) -> list[int]:
    """``--seeds 0,1,2``: distinct seeds, at least one, each a valid seed."""
    from fdsl.core.checks import check_seed

    try:
        seeds = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise FdslError(f"--seeds takes comma-separated integers (e.g. 0,1,2), got '{text}'") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise FdslError(f"--seeds needs at least one seed and no repeats, got '{text}'")
    for seed in seeds:
        check_seed(seed, "--seeds")
    return seeds


def run_stage(folder: Path, config, start) -> dict:
    """Run a stage unless complete; resume it if it was interrupted; refuse a folder trained otherwise."""
    from fdsl.train import checkpoint

    meta = None
    try:
        meta = checkpoint.read_meta(folder)
    except FdslError:
        pass
    if meta and meta.get("complete"):
        from fdsl.train.resume import RESUMABLE_CHANGES, saved_setting

        wanted = json.loads(json.dumps(config.to_dict()))
        # A setting newer than the folder's run is taken at what that run did (a new logging option does not
        # make every finished stage "trained otherwise"; one that changed the numerics does).
        changed = [k for k, v in wanted.items() if k not in RESUMABLE_CHANGES | {"model"}
                   and saved_setting(meta["config"], k, type(config)) != v]
        if changed:
            raise FdslError(f"{folder} was trained with other settings ({', '.join(changed)}); use another --out")
        return meta
    return start(resume=folder.exists())  # a folder with no complete checkpoint yet starts afresh


def spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "runs": values}


def verdict(gains: list[float]) -> str:
    """Whether the paired per-seed gains show an effect: mean beyond two standard errors of the mean."""
    mean = statistics.fmean(gains)
    if len(gains) < 2:
        return f"gain {mean:+.2f} points from one seed: no spread to judge it by (use --seeds 0,1,2)"
    error = statistics.stdev(gains) / len(gains) ** 0.5
    if abs(mean) <= 2 * error:
        return (f"gain {mean:+.2f} ± {error:.2f} (standard error over {len(gains)} seeds): within the seed-to-seed "
                "noise, no effect shown at this size")
    direction = "helps" if mean > 0 else "hurts"
    return f"pre-training {direction}: {mean:+.2f} ± {error:.2f} points (standard error over {len(gains)} seeds)"
