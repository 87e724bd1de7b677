"""Data sources for training that are not plain torch Datasets (``device_batches``: formula images rendered
and augmented on the training GPU).  The on-the-fly and real-image datasets are ``fdsl.datasets`` and
``fdsl.realdata``."""
