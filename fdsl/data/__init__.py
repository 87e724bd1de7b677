"""Every torch dataset fdsl reads or makes, one file a source.

formula.py       formula images rendered on the fly (and the epoch-keyed sampler)
composite.py     A&F colour-on-background and multi-instance images over any formula
real.py          labelled real images: ImageFolder trees, zips, CIFAR-10, Omniglot npz
shards.py        WebDataset tar shards as a labelled source
masks.py         image/mask pairs on disk and SegRCDB on the fly
mask_transforms.py  joint image + mask transforms
proxy.py         Fashion-MNIST canvases, a small real segmentation task
point_clouds.py  PC-FractalDB clouds and scenes as tensors
device_batches.py  formula batches rendered and augmented on the training device
"""

# The mask value that no loss or score counts (padding, "don't care" pixels), as in mmseg; here so that
# modules that only read masks (previews, folder checks) need not import torch.
IGNORE_INDEX = 255
