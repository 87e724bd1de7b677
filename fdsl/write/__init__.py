"""Writing datasets to disk: one engine (shards, locks, resume, manifest), sinks (a folder or tar shards),
the producers of each output kind, and ``status`` (what a folder holds, without rendering)."""
