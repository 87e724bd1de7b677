"""The Python entry points, for training loops of one's own (plain PyTorch, Lightning, timm's train.py).

``import fdsl`` gives these names without importing torch; the ``fdsl`` command is
a thin layer over the same functions.

* ``search_catalog``: find categories of a formula, write a catalog folder.
* ``render_catalog``: render a catalog to an ImageFolder tree or WebDataset tar shards.

(Not ``search``/``render``: ``fdsl.catalog.search`` is a module, and a submodule import would
overwrite a package attribute of that name.)
* ``FormulaDataset``: a torch ``Dataset`` rendering a catalog's images on the fly,
  taking a torchvision transform.
* ``webdataset_pipeline``: a ``webdataset`` pipeline over tar shards written by ``render_catalog``.
* ``pretrain`` / ``finetune``: a training run, as the commands of the same names, options as keyword arguments;
  ``load_model``: the timm model of a run folder.
"""

from __future__ import annotations

from pathlib import Path

from fdsl.core.errors import FdslError

SHARD_SHUFFLE = 100


def search_catalog(formula: str, out, categories: int = 1000, seed: int = 0, workers: int = 1,
                   progress: bool = False, **settings) -> Path:
    """Search ``categories`` categories of ``formula`` and write them as a catalog folder ``out``.

    ``settings`` are the formula's search settings as keyword arguments (the options of
    ``fdsl search FORMULA --help`` with underscores, e.g. ``fill_rate=0.2``).  The same seed
    gives the same catalog at any ``workers``.  Returns ``out``.

    >>> fdsl.search_catalog("fractal", "params/", categories=10, seed=1)  # doctest: +SKIP
    """
    from fdsl.formulas import create_formula
    from fdsl.catalog.search import save_catalog
    from fdsl.catalog.search import search as run_search
    from fdsl.catalog.specs import SearchSpec

    family = create_formula(formula)
    settings = family.SearchSettings.from_strings(settings, "search setting")
    spec = SearchSpec(family, settings, seed, categories, workers)
    save_catalog(spec, run_search(spec, progress), Path(out))
    return Path(out)


def render_catalog(formula: str | None, params, out, seed: int = 0, workers: int = 1, format: str = "folder",
                   shard_size: int = 1000, shard: str | None = None, device: str = "cpu", progress: bool = False,
                   **settings):
    """Render every image of the catalog ``params`` into ``out``; returns a ``Report (fdsl.write.engine)``.

    ``format``: "folder" (``out/{category:05d}/{file}.png``, for ``torchvision.datasets.ImageFolder``)
    or "webdataset" (``out/{shard:06d}.tar`` of ``shard_size`` samples, ``.png`` + ``.cls``).
    ``shard``: "K/N" renders only part K of N (one per machine or job-array task).
    ``settings`` are the formula's render settings (``size=362, points=200_000`` ...).
    What is written follows the family: images, or image/mask pairs for ``segrcdb`` (``images=N``);
    ``formula="scenes"`` writes PC-FractalDB scenes of a 3D catalog (``scenes=N`` and the scene settings).
    A re-run resumes; the same seed gives byte-identical files at any ``workers`` and ``shard``.
    ``formula=None`` renders the catalog as the family its manifest records.
    """
    from fdsl.catalog.specs import Device, Output, RenderSpec, SceneSpec, Shard
    from fdsl.formulas import create_formula
    from fdsl.write.engine import render as run_render, write_scenes

    if formula is None:
        from fdsl.catalog.params import catalog_formula

        formula = catalog_formula(Path(params))
        if formula is None:
            raise FdslError(f"{params} has no catalog manifest naming its family; pass the formula's name")
    if formula == "scenes":
        from fdsl.formulas.scenes.layout import SceneSettings

        if device != "cpu":
            raise FdslError(f"scenes are written on the CPU only; omit device='{device}'")
        count = settings.pop("scenes", 1000)
        spec = SceneSpec(SceneSettings.from_strings(settings, "scene setting"), int(count), seed=seed,
                         workers=workers, shard=Shard.parse(shard), output=Output(format, shard_size))
        return write_scenes(spec, Path(params), Path(out), progress)
    family = create_formula(formula)
    spec = RenderSpec(family, family.RenderSettings.from_strings(settings, "render setting"), seed=seed,
                      workers=workers, shard=Shard.parse(shard), device=Device.parse(device),
                      output=Output(format, shard_size))
    return run_render(spec, Path(params), Path(out), progress)


def list_formulas() -> list[dict]:
    """Every registered family: name, summary, output kind, whether it has a torch renderer (as timm's list_models)."""
    from fdsl.formulas import list_formulas as registry_list

    return registry_list()


def list_families() -> list[str]:
    """The names of every registered formula family, sorted (``list_formulas`` gives their metadata)."""
    return [info["name"] for info in list_formulas()]


def load_model(run, pretrained: bool = True):
    """The timm model of a run folder written by ``fdsl pretrain`` or ``fdsl finetune`` (classification), with
    its weights and its ``pretrained_cfg`` (so ``timm.data.resolve_data_config(model=...)`` gives the run's
    input size and normalisation).  ``pretrained=False``: the architecture alone.  Needs torch and timm."""
    import timm

    from fdsl.train.checkpoint import read_meta
    from fdsl.train.hub_config import CONFIG

    meta = read_meta(Path(run))  # a missing or foreign folder is one FdslError
    if not (Path(run) / CONFIG).is_file():
        raise FdslError(f"{run} has no {CONFIG}: it is a {meta.get('task', 'classification')} run of an older fdsl or "
                        "not a timm model; load it with fdsl.train.checkpoint")
    return timm.create_model(f"local-dir:{Path(run).resolve()}", pretrained=pretrained)


def pretrain(out, **options) -> dict:
    """Pre-train a model as ``fdsl pretrain --out OUT ...`` does, the options as keyword arguments (the command's
    flags with underscores: ``params="cat/", formula="fractal", epochs=10, image_size=32``; ``True`` for a bare
    flag, a list for a repeated one).  The same checks, recipe defaults and run folder as the command; bad input
    raises ``FdslError``.  Returns the run's ``model.json`` (settings, metrics).  Needs ``fdsl[train]``.

    >>> fdsl.pretrain("runs/pre", params="cat/", formula="fractal", epochs=1, image_size=32)  # doctest: +SKIP
    """
    return _train_verb("pretrain", out, options)


def finetune(out, **options) -> dict:
    """Fine-tune as ``fdsl finetune --out OUT ...`` does (``data="cifar.zip", checkpoint="runs/pre"`` or
    ``scratch=True``, ``model="resnet10t"``, ...): a checkpoint's model, recipe and image size are inherited
    unless given, as on the command line.  Returns the run's ``model.json``."""
    return _train_verb("finetune", out, options)


def _train_verb(verb: str, out, options: dict) -> dict:
    import json

    from fdsl.cli import build_parser
    from fdsl.core.notes import held_until_work

    argv = [verb, "--out", str(out), "--quiet"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is True:
                argv.append(flag)
            elif item is not False and item is not None:  # identity: 0 == False, and epochs=0 must reach the check
                argv += [flag, str(item)]
    args = build_parser().parse_args(argv)  # an unknown option or a bad value: FdslError, as the command's line
    with held_until_work():
        args.run(args)
    return json.loads((Path(out) / "model.json").read_text())


def __getattr__(name: str):
    # FormulaDataset lives with the training code and imports torch: only when it is asked for.
    if name == "FormulaDataset":
        from fdsl.data.formula import FormulaDataset

        return FormulaDataset
    raise AttributeError(name)


def webdataset_pipeline(shards, transform=None, shuffle: int = 1000, seed: int = 0, resampled: bool = False):
    """A ``webdataset.WebDataset`` over tar shards, yielding (image, class index) pairs.

    ``shards``: a folder written by ``render_catalog(..., format="webdataset")``, a list of tar
    paths or URLs, or a brace pattern (``"shards/{000000..000999}.tar"``).  Images are
    decoded to PIL RGB and passed through ``transform`` (e.g. a torchvision transform).
    ``shuffle``: shard order is shuffled and samples go through a buffer of this many
    (0: the file order).  Shards are split across ``torchrun`` ranks and DataLoader
    workers; with several ranks use ``resampled=True`` (each rank draws shards with
    replacement, the usual WebDataset recipe) and set the epoch length with ``.with_epoch(n)``.
    Needs the ``webdataset`` package (``pip install 'fdsl[train]'``).
    """
    import webdataset as wds

    from fdsl.core.tars import shard_files

    if isinstance(shuffle, bool) or not isinstance(shuffle, int) or shuffle < 0:
        raise FdslError(f"shuffle must be a whole number of samples >= 0 (0: the file order), got {shuffle!r}")
    urls = shards
    if isinstance(shards, (str, Path)) and not Path(shards).exists() and not any(c in str(shards) for c in "{:"):
        # a plain local path that is not there (a brace pattern or a URL is webdataset's to open)
        raise FdslError(f"{shards} does not exist; give a folder written by 'fdsl render --format webdataset', "
                        "a list of tar paths or a brace pattern")
    if isinstance(shards, (str, Path)) and Path(shards).is_dir():
        urls = [str(path) for path in shard_files(Path(shards))]
        if not urls:
            raise FdslError(f"{shards} holds no .tar shards; write some with fdsl render --format webdataset")
    # shardshuffle is webdataset's buffer of shard names: 100 shuffles any realistic list well enough.
    pipeline = wds.WebDataset(urls, shardshuffle=SHARD_SHUFFLE if shuffle else False, seed=seed,
                              resampled=resampled, nodesplitter=wds.split_by_node, empty_check=False)
    if shuffle:
        pipeline = pipeline.shuffle(shuffle)
    pipeline = pipeline.decode("pil").to_tuple("png;jpg;jpeg", "cls")
    return pipeline.map_tuple(transform or (lambda image: image), int)
