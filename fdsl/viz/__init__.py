"""Pictures of what a model learned, from the run folders ``fdsl pretrain`` / ``fdsl finetune`` write.

One module per kind; each has a function that takes loaded runs (``runs.load_runs``) and
returns a ``Picture``: the numbers behind the figure (so they can be tested and reused)
and the matplotlib figure itself.  ``KINDS`` maps the ``fdsl viz`` kind to its module.

    from fdsl.viz import runs, attention_distance
    picture = attention_distance.attention_distance(runs.load_runs(["runs/pre", "runs/scratch"]), images)
    picture.numbers["pre"]          # (layers, heads) mean distance in pixels
    picture.save("distance.png")
"""

from __future__ import annotations

# kind -> (module, function); the CLI imports lazily so `fdsl --help` stays fast.
KINDS = {
    "filters": ("fdsl.viz.filters", "filters"),
    "pos-embed": ("fdsl.viz.pos_embed", "pos_embed"),
    "attention-distance": ("fdsl.viz.attention_distance", "attention_distance"),
    "attention": ("fdsl.viz.attention", "attention"),
    "cam": ("fdsl.viz.cam", "cam"),
    "curves": ("fdsl.viz.curves", "curves"),
}
# Kinds that read images (--data) and kinds that need a Vision Transformer.
NEEDS_IMAGES = ("attention-distance", "attention", "cam")
VIT_ONLY = ("pos-embed", "attention-distance", "attention")
