"""``fdsl formulas``: every registered family, what it writes and whether it renders on a torch device."""

from __future__ import annotations

import json

EXAMPLES = """examples:
  fdsl formulas --json > families.json
  fdsl formulas --json | python -c 'import json,sys; print([f["name"] for f in json.load(sys.stdin)])'"""


def add_parser(verbs) -> None:
    parser = verbs.add_parser("formulas", help="list the formula families (from the registry)",
                              description="The registry's families: name, what 'fdsl render' writes for it "
                              "(classification images or segmentation image/mask pairs), whether it has a torch "
                              "(GPU) renderer, and its summary.", epilog=EXAMPLES)
    parser.add_argument("--json", action="store_true", help="print the registry as JSON")
    parser.set_defaults(run=run)


def run(args) -> int:
    from fdsl.formulas import list_formulas

    families = list_formulas()
    if args.json:
        print(json.dumps(families, indent=1))
        return 0
    width = max(len(f["name"]) for f in families)
    for family in families:
        device = "cpu, torch" if family["torch_renderer"] else "cpu"
        print(f"{family['name']:<{width}}  {family['output']:<14}  {device:<10}  {family['summary']}")
    return 0
