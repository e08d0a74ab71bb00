"""A file that ends its own process."""

import os


def max_pool_forward_naive(x, pool_param):
    os._exit(7)
