"""ONNX graphs built from numpy weights and run by onnxruntime: how the speaker networks run
without torch.

The graph is written with the `onnx` package's helpers (opset 17) from tensors a checkpoint
reader returned (emulator.engine.torch_checkpoint), serialized in memory and handed to
onnxruntime, which faster-whisper already installs. Nothing is written to disk.
"""

from __future__ import annotations

import numpy as np

OPSET = 17


class GraphBuilder:
    """Collects nodes and constant tensors, names their outputs, and makes a session."""

    def __init__(self):
        self.nodes: list = []
        self.initializers: list = []
        self._names = 0

    def node(self, op: str, inputs: list[str], output: str | None = None, **attributes) -> str:
        """Adds an `op` node (ONNX operator name, attributes as keywords); returns its output's name."""
        from onnx import helper

        output = output or self._name(op)
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def const(self, value: np.ndarray) -> str:
        """Adds a constant tensor (dtype and shape as given); returns its name."""
        from onnx import numpy_helper

        name = self._name("w")
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def session(self, name: str, inputs: dict[str, list], outputs: dict[str, list]):
        """An onnxruntime InferenceSession (CPU, thread-safe) of the graph. inputs, outputs:
        float32 tensors by name, each with its shape (ints, or strings for free axes)."""
        import onnxruntime
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(k, TensorProto.FLOAT, shape) for k, shape in inputs.items()],
            [helper.make_tensor_value_info(k, TensorProto.FLOAT, shape) for k, shape in outputs.items()],
            self.initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8)
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # give memory back after each run (the arena kept +370 MB)
        return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def _name(self, kind: str) -> str:
        self._names += 1
        return f"{kind}{self._names}"
