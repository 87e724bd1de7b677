"""Semantic segmentation: SegRCDB image/mask datasets on disk and on the fly, real image/mask data, the
training task (smp decoders on timm encoders, mIoU), and previews of images beside their masks."""

# The mask value that no loss or score counts (padding, "don't care" pixels), as in mmseg; here so that
# modules that only read masks (previews, folder checks) need not import torch.
IGNORE_INDEX = 255
