"""Semantic segmentation: SegRCDB image/mask datasets on disk and on the fly, real image/mask data, the
training task (smp decoders on timm encoders, mIoU), and previews of images beside their masks."""
