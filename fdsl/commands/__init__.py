"""One module per ``fdsl`` verb; each exposes ``add_parser(subparsers)`` and sets ``run``."""
