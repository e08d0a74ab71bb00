"""The plain convention: one layer's functions, its sizes fixed by the command line."""

import numpy as np

STRIDE, PAD = 2, 1


def conv_forward(x, w, b):
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    H_out = 1 + (H + 2 * PAD - HH) // STRIDE
    W_out = 1 + (W + 2 * PAD - WW) // STRIDE
    out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * STRIDE : i * STRIDE + HH, j * STRIDE : j * STRIDE + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


def conv_backward(x, w, b, dout):
    _, _, H, W = x.shape
    _, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * STRIDE, i * STRIDE + HH)
            cols = slice(j * STRIDE, j * STRIDE + WW)
            dw += np.tensordot(dout[:, :, i, j], x_pad[:, :, rows, cols], axes=([0], [0]))
            dx_pad[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return dx_pad[:, :, PAD : PAD + H, PAD : PAD + W], dw, dout.sum(axis=(0, 2, 3))


def pool_backward(x, dout):
    """2x2 windows, stride 2, written with an equality mask (every tied maximum)."""
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            biggest = window.max(axis=(2, 3), keepdims=True)
            dx[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2] += (window == biggest) * dout[
                :, :, i : i + 1, j : j + 1
            ]
    return dx
