"""A forward pass that asks for far more memory than the limit."""

import numpy as np


def max_pool_forward_naive(x, pool_param):
    return np.ones((1 << 40,)), None
