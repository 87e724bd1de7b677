"""Model presets: short names for timm models with fdsl's small-input settings.  Imports nothing heavy, so the
command line lists them without loading timm."""

# Small Vision Transformers for 32-64 px inputs: timm's own VisionTransformer with a 4-px patch and a
# smaller width/depth.  A checkpoint records the timm name and these keyword arguments, so plain
# ``timm.create_model(meta["model"], **meta["model_kwargs"])`` rebuilds it; the preset name is only a shorthand.
# Average pooling instead of a class token: at 64 tokens it trains faster and transfers as well.
_SMALL_VIT = dict(patch_size=4, global_pool="avg", class_token=False)
PRESETS = {
    "vit-nano-p4": ("vit_tiny_patch16_224", dict(_SMALL_VIT, embed_dim=128, depth=4, num_heads=2)),
    "vit-micro-p4": ("vit_tiny_patch16_224", dict(_SMALL_VIT, embed_dim=192, depth=6, num_heads=3)),
    "vit-tiny-p4": ("vit_tiny_patch16_224", dict(patch_size=4)),  # ViT-Tiny (192 wide, 12 deep), 4-px patches
}
