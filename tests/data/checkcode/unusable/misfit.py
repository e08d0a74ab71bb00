"""conv_forward_naive returns the output alone, not (out, cache)."""

import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    return np.zeros(1)
