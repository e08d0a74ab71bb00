"""The operator identities of conv2d: weight correlation, input full convolution, bias sum."""

from __future__ import annotations

from ...identities import (
    LayerIdentities,
    conv2d_bias_form,
    conv2d_input_form,
    conv2d_weight_form,
)
from .spec import Conv2d

#: Layer type -> its identities (read by :func:`symcnn.identities.verify` through the registry).
TABLE = {
    Conv2d.type: LayerIdentities(
        rules=(
            (
                "weight_correlation",
                "W",
                "dL/dW = corr(X, dilate(dL/dO, stride)), read at steps of the dilation",
                conv2d_weight_form,
            ),
            (
                "input_full_convolution",
                "X",
                "dL/dX = crop(full_conv(dilate(dL/dO, stride), rot180(dilate(W, dilation))),"
                " padding)",
                conv2d_input_form,
            ),
            ("bias_sum", "B", "dL/dB = sum of dL/dO over batch and positions", conv2d_bias_form),
        )
    )
}
