"""fdsl: Formula-Driven Supervised Learning.

Formulas turn a seed into categories (parameter sets) and each category into
images; the rest of the package moves those images to disk or into a model.

The Python entry points (fdsl/api.py), importable without torch:

* ``fdsl.search_catalog(formula, out, categories=..., seed=..., **settings)``: write a catalog;
* ``fdsl.render_catalog(formula, params, out, format="folder" | "webdataset", **settings)``: write a dataset;
* ``fdsl.FormulaDataset(formula, params, settings, transform=...)``: on-the-fly images (torch);
* ``fdsl.webdataset_pipeline(shards, transform=...)``: stream tar shards (webdataset);
* ``fdsl.list_formulas()``: every family with what it writes and whether it renders on a torch device
  (``fdsl.list_families()``: their names);
* ``fdsl.pretrain(out, **options)`` / ``fdsl.finetune(out, **options)``: a training run, as the commands of the
  same names (options as keyword arguments, ``image_size=32``); they return the run's ``model.json`` (torch);
* ``fdsl.load_model(run)``: the timm model of a training run folder, weights and input config (torch);
* ``fdsl.FdslError``: the one exception bad input raises (the command line prints it as one line, exit 2).
"""

from fdsl.core.version import __version__

API = ("search_catalog", "render_catalog", "FormulaDataset", "webdataset_pipeline", "list_formulas", "list_families",
       "pretrain", "finetune", "load_model", "FdslError")
__all__ = ["__version__", *API]


def __getattr__(name: str):
    # Loaded on first use, so that `import fdsl` (and the command line) stays light: no torch, no numba.
    if name in API:
        from fdsl import api

        return getattr(api, name)
    raise AttributeError(f"module 'fdsl' has no attribute '{name}'")


def __dir__() -> list[str]:
    # The lazy names are listed as if they were loaded (tab completion, help(fdsl)).
    return sorted({*globals(), *__all__})
