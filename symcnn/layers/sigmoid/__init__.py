"""sigmoid: the logistic function ``1 / (1 + exp(-x))`` entry by entry, PyTorch's semantics."""
