"""Category search: draw candidates until C are accepted, identically at any worker count.

Candidate k is drawn from ``rng_for(seed, "search", k)``; the categories are the
first C accepted candidates in k order.  Workers test batches of consecutive
candidates and results are consumed in batch order, so more workers only
change how fast the same answer arrives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from fdsl.catalog.params import environment, write_manifest
from fdsl.core.files import published_folder
from fdsl.core.errors import FdslError
from fdsl.core.progress import bar as progress_bar
from fdsl.core.seeding import rng_for
from fdsl.catalog.specs import SearchSpec
from fdsl.core.workers import task_results

BATCH = 32
# Give up rather than spin forever when a threshold accepts (almost) nothing.
MAX_CANDIDATES_PER_CATEGORY = 100_000


@dataclass
class SearchResult:
    categories: list = field(default_factory=list)  # [(candidate index, params, score)]
    candidates: int = 0
    seconds: float = 0.0


_worker_state: dict = {}


def _init_worker(spec: SearchSpec) -> None:
    _worker_state.update(formula=spec.formula, settings=spec.settings, seed=spec.seed,
                         context=spec.formula.search_context(spec.seed, spec.settings))


def _test_batch(first: int) -> list:
    formula, settings, seed, context = (_worker_state[k] for k in ("formula", "settings", "seed", "context"))
    accepted = []
    for k in range(first, first + BATCH):
        outcome = formula.sample_category(rng_for(seed, "search", k), settings, context)
        if outcome is not None:
            accepted.append((k, outcome[0], float(outcome[1])))
    return accepted


def _batches(limit: int):
    return range(0, limit, BATCH)


def search_categories(formula_name: str, settings, seed: int, categories: int, workers: int = 1,
                      progress: bool = True) -> SearchResult:
    """``search`` for scripts: the same, from plain values."""
    return search(SearchSpec(formula_name, settings, seed, categories, workers), progress)


def search(spec: SearchSpec, progress: bool = True) -> SearchResult:
    """The first ``spec.categories`` accepted candidates, in candidate order."""
    categories, workers = spec.categories, spec.workers
    limit = categories * MAX_CANDIDATES_PER_CATEGORY
    result = SearchResult()
    start = time.perf_counter()
    bar = progress_bar(total=categories, desc=f"search {spec.formula.name}", enabled=progress)
    try:
        with task_results(workers, _init_worker, (spec,), _test_batch, _batches(limit), ordered=True,
                          chunksize=1) as batches:
            _take_until_enough(batches, categories, limit, result, bar)
    finally:
        bar.close()
    result.seconds = time.perf_counter() - start
    return result


def _take_until_enough(batches, categories: int, limit: int, result: SearchResult, bar) -> None:
    """Accepted candidates of the batches, in candidate order, until ``categories`` are found."""
    for accepted in batches:
        take = accepted[: categories - len(result.categories)]
        result.categories.extend(take)
        bar.update(len(take))
        if len(result.categories) == categories:
            # Candidates after the last accepted one do not count: the answer is the same at any batching.
            result.candidates = result.categories[-1][0] + 1
            return
    raise FdslError(f"only {len(result.categories)} of {categories} categories accepted after {limit} "
                    "candidates; lower the acceptance threshold (e.g. --fill-rate)")


def write_catalog(formula_name: str, settings, seed: int, result: SearchResult, out: Path) -> Path:
    """``save_catalog`` for scripts: the same, from plain values."""
    return save_catalog(SearchSpec(formula_name, settings, seed, max(len(result.categories), 1)), result, out)


def save_catalog(spec: SearchSpec, result: SearchResult, out: Path) -> Path:
    """One parameter file per category plus manifest.json, published all at once.

    Files are written to a hidden sibling folder that is renamed to ``out`` at the
    end, so a killed run leaves no partial catalog under ``out``.
    """
    formula, settings, seed = spec.formula, spec.settings, spec.seed
    out = Path(out)
    with published_folder(out, "the catalog") as staging:
        rows = []
        for index, (candidate, params, score) in enumerate(result.categories):
            name = f"{index:05d}{formula.params_suffix}"
            formula.save_params(params, staging / name)
            rows.append({"file": name, "candidate": candidate, "score": round(score, 6),
                         **formula.describe_params(params)})
        manifest = {
            "kind": "catalog", "formula": formula.name, "seed": seed, "settings": settings.to_dict(),
            "counts": {"categories": len(rows), "candidates": result.candidates,
                       "acceptance": round(len(rows) / max(result.candidates, 1), 5)},
            "environment": environment(), "categories": rows,  # no wall-clock time: the same search, the same bytes
        }
        write_manifest(staging, manifest)
    return out / "manifest.json"
