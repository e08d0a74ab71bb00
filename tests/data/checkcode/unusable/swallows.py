"""A forward pass that never ends and swallows every interruption."""


def max_pool_forward_naive(x, pool_param):
    while True:
        try:
            while True:
                pass
        except BaseException:  # swallowing the interruption is the point of the sample
            pass
