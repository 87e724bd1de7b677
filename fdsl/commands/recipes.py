"""``fdsl recipes``: the values of a training recipe, the ones every "(default: the recipe's)" option takes."""

from __future__ import annotations

import json

EXAMPLES = """examples:
  fdsl recipes                                  # every recipe, one line each
  fdsl recipes vit-small                        # both stages of one recipe, value by value
  fdsl recipes deit --stage finetune --json     # machine-readable"""


def add_parser(verbs) -> None:
    from fdsl.train.recipes import RECIPES

    parser = verbs.add_parser("recipes", help="print the training recipes' values",
                              description="The published training recipes that 'fdsl pretrain' and 'fdsl finetune' "
                              "start from (--recipe): optimiser, schedule, augmentation, sizes. Every training "
                              "option whose help says \"(default: the recipe's)\" takes its value from here.",
                              epilog=EXAMPLES)
    parser.add_argument("recipe", nargs="?", choices=sorted(RECIPES), metavar="RECIPE",
                        help=f"one of {', '.join(sorted(RECIPES))} (default: every recipe, summarised)")
    parser.add_argument("--stage", choices=("pretrain", "finetune"), default=None,
                        help="only this stage (default: both)")
    parser.add_argument("--json", action="store_true", help="print the values as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.train.recipes import RECIPES, SCALED_LR

    names = [args.recipe] if args.recipe else sorted(RECIPES)
    stages = [args.stage] if args.stage else ["pretrain", "finetune"]
    values = {name: {stage: dict(RECIPES[name][stage]) for stage in stages} for name in names}
    if args.json:
        print(json.dumps(values, indent=1, default=list))
        return 0
    for name in names:
        for stage in stages:
            recipe = values[name][stage]
            if args.recipe is None:
                print(f"{name:<13} {stage:<9} {recipe['opt']} lr {recipe['lr']:g}, {recipe['sched']}, "
                      f"{recipe['epochs']} epochs, batch {recipe['batch_size']}, {recipe['image_size']} px")
                continue
            print(f"{name} ({stage}):")
            for key, value in recipe.items():
                print(f"  {key:<18} {value}")
            if name in SCALED_LR:
                print("  (lr is scaled by batch-size / 512 unless --lr is given)")
    return 0
