"""flatten: every axis after the batch joined into one, as PyTorch's ``nn.Flatten()``."""
