"""Pre-training and fine-tuning: one engine for both, timm for models and recipe pieces.

recipes.py     TrainConfig (plain values) and the papers' presets (resnet-sgd, deit)
augment.py     transforms, Mixup/CutMix and the loss for a config
model.py       timm model by name, strict weight loading, head swap, --freeze
checkpoint.py  safetensors weights + JSON sidecar + resume state
engine.py      the training loop: data order, steps, evaluation, checkpoints, DDP, AMP
logs.py        metrics.jsonl and curves.png
stages.py      pretrain / finetune / evaluate: build data and model, call the engine
experiment.py  FractalDB pre-training vs scratch (fdsl experiment reproduce, digits-demo)
"""
