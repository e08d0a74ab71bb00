"""linear: a fully connected layer, PyTorch's ``nn.Linear``: ``O = X W^T + B``."""
