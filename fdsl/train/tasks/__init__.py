"""What a task adds to the one training engine: ``classification`` (one label, or multi-label) and
``segmentation`` (a label mask)."""
