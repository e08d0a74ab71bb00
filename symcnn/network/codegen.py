"""``symcnn generate --net``: one NumPy module for a whole network, and its layers' kernels.

Every layer, the loss included, gets its own generated kernel module beside the network module
(``<stem>_layer<p>.py``, proven against its derivation by ``symcnn.codegen``). The network
module chains them: ``SPEC``, ``init_params(seed)``, ``forward``, ``loss_and_grads`` and
``sgd_step``. The kernels read the batch at run time, so the network module runs any batch;
its ``SPEC`` keeps the file's, the batch the kernels were derived and tuned for.
"""

from __future__ import annotations

import pprint
from dataclasses import dataclass

from .. import __version__
from ..codegen.generate import MARKER, generate, wrap_command
from ..printing.document import environment
from ..spec import Layer
from .params import NAMES, fan_in, parameter_shapes
from .spec import Network

#: The strategies tried for a layer's kernels, in order: the first that fits is used (fixed,
#: not timed, so that the output is byte-stable).
PREFERRED = ("gemm", "matmul", "taps", "reshape", "elementwise", "unrolled")


@dataclass(frozen=True)
class Step:
    """One layer (or the loss) as the network module's template writes it."""

    position: int
    spec: Layer
    kernel: str  # the kernel module's file name

    @property
    def weight(self) -> str | None:
        return f"{self.position}.weight" if "W" in self.spec.parameters() else None

    @property
    def bias(self) -> str | None:
        return f"{self.position}.bias" if "B" in self.spec.parameters() else None


def _kernel(spec: Layer, dtype: str, directory: str):
    errors = []
    for strategy in PREFERRED:
        try:
            return generate(spec, dtype=dtype, strategy=strategy, directory=directory)
        except ValueError as error:
            errors.append(str(error))
    raise ValueError(f"no kernel strategy fits this {spec.type}: {errors[-1]}")


def _step(position: int, spec: Layer, stem: str, dtype: str, directory: str, files: dict):
    module = _kernel(spec, dtype, directory)
    name = f"{stem}_layer{position}.py"
    files[name] = module.text
    return Step(position, spec, name)


def generate_network(
    net: Network, *, stem: str, command: list[str], dtype: str = "float64", directory: str = "."
) -> dict[str, str]:
    """The network module ``<stem>.py`` and its kernel modules, by file name.

    Parameters
    ----------
    net : Network
    stem : str
        The network module's name (a Python identifier); kernels are ``<stem>_layer<p>.py``.
    command : list of str
        The shell-quoted words of the command that regenerates the files, for the do-not-edit
        header (no word may hold a line break: see ``codegen.naming.check_directory``).
    dtype : {"float64", "float32"}
    directory : str
        The folder named in the kernels' headers.

    Returns
    -------
    dict of str to str
        File name -> text, the network module last.
    """
    if not stem.isidentifier():
        raise ValueError(f"stem={stem!r} is not valid: expected a Python identifier")
    files: dict[str, str] = {}
    steps = [
        _step(position, spec, stem, dtype, directory, files)
        for position, spec in enumerate(net.layers)
    ]
    loss = _step(len(net.layers), net.loss, stem, dtype, directory, files)
    shapes = parameter_shapes(net)
    fans = {name: fan_in(shapes[name.rsplit(".", 1)[0] + ".weight"]) for name in shapes}
    files[f"{stem}.py"] = (
        environment()
        .get_template("network.py.jinja")
        .render(
            marker=MARKER,
            version=__version__,
            command=wrap_command(command),
            spec=pprint.pformat(net.to_dict(), width=96, sort_dicts=False),
            dtype=dtype,
            batch=net.input_shape[0],
            steps=steps,
            loss=loss,
            shapes=shapes,
            fans=fans,
            names=NAMES,
        )
    )
    return files
