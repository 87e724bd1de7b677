"""What every layer stands on and that knows nothing of formulas or training.

errors (the one exception type the CLI turns into one line and exit 2), seeding (counter-based streams),
progress bars, the worker pool, file I/O (one atomic write, one lock), PNG and PLY bytes, the image
suffixes, and where the shared real data lives.
"""
