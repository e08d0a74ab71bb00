"""Refuses object arrays (as code that insists on float64 does), and is right in float64."""

import numpy as np


def max_pool_forward_naive(x, pool_param):
    if x.dtype != np.float64:
        raise TypeError(f"expected float64, got {x.dtype}")
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    out = np.zeros((N, C, 1 + (H - ph) // stride, 1 + (W - pw) // stride))
    for i in range(out.shape[2]):
        for j in range(out.shape[3]):
            out[:, :, i, j] = x[
                :, :, i * stride : i * stride + ph, j * stride : j * stride + pw
            ].max(axis=(2, 3))
    return out, None
