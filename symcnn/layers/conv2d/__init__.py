"""conv2d: a 2-D convolution (cross-correlation), PyTorch's semantics."""
