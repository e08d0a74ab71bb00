"""relu: the rectified linear unit, elementwise ``max(x, 0)``, PyTorch's semantics."""
