"""max_pool_forward_naive returns the output alone, not (out, cache)."""

import numpy as np


def max_pool_forward_naive(x, pool_param):
    return np.zeros(1)
