"""Training: the engine (stage 1, stage 2, prediction), batch augmentation, training input, backbones, checkpoints."""
