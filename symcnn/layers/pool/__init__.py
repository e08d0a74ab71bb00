"""The pools: max, min and average pooling over a sliding window."""
