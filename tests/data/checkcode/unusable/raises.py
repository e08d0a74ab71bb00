"""A backward pass that raises: an index past the end of the padded input."""

import numpy as np


def max_pool_forward_naive(x, pool_param):
    return np.zeros((1, 1, 1, 1)), (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, _ = cache
    return x[0, 0, 99, 99] * dout
