"""A forward pass that never ends."""


def max_pool_forward_naive(x, pool_param):
    while True:
        pass
