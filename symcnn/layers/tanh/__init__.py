"""tanh: the hyperbolic tangent entry by entry, PyTorch's semantics."""
