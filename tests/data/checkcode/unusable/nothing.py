"""No function of the convention."""


def affine_forward(x, w, b):
    return x @ w + b
