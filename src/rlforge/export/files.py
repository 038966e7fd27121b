"""Exported policy files: an ONNX model or a TorchScript archive with one input, `obs` (float32
[B, *obs_shape]), one output, `action`, and rlforge's metadata beside the graph.

Metadata (env id, rlforge version, algorithm, step, spaces) goes where each format keeps it:
ONNX `metadata_props` (strings; the structured entries as JSON), a TorchScript extra file
`rlforge.json`. Both are read without rlforge: onnxruntime's
`get_modelmeta().custom_metadata_map`, or torch.jit.load's `_extra_files`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from pathlib import Path

import numpy as np

from rlforge.errors import RLForgeError

FORMATS = ("onnx", "torchscript")
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript"}
INPUT, OUTPUT = "obs", "action"
METADATA_FILE = "rlforge.json"  # the TorchScript extra file
JSON_KEYS = ("env_kwargs", "max_episode_steps", "step", "observation_shape", "action_space")  # ONNX: JSON strings
ZIP_MAGIC = b"PK\x03\x04"  # a TorchScript archive is a zip file; an ONNX model is a protobuf


def _missing(package: str) -> RLForgeError:
    return RLForgeError(f"{package} is not installed; install the export extra: pip install 'rlforge[export]'")


# ----------------------------------------------------------------------------- write


def to_bytes(module, fmt: str, example, metadata: dict) -> bytes:
    """`module` (float32 obs -> actions) as an ONNX model or a TorchScript archive, with the
    batch size free. `example` is an observation batch of at least two rows (torch.export
    specialises a size of 1)."""
    import torch

    with torch.no_grad():
        if fmt == "onnx":
            return _onnx_bytes(module, example, metadata)
        return _torchscript_bytes(module, example, metadata)


def _onnx_bytes(module, example, metadata: dict) -> bytes:
    import torch

    try:
        import onnxscript  # noqa: F401  (torch's exporter needs it; said here in one line)
    except ImportError:
        raise _missing("onnxscript") from None
    batch = torch.export.Dim("batch")
    with _quiet():
        program = torch.onnx.export(module, (example,), dynamo=True, input_names=[INPUT], output_names=[OUTPUT],
                                    dynamic_shapes=({0: batch},), external_data=False, verbose=False)
    model = program.model_proto
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value) if key in JSON_KEYS else str(value)
    return model.SerializeToString()


def _torchscript_bytes(module, example, metadata: dict) -> bytes:
    import torch

    buffer = io.BytesIO()
    with _quiet():  # torch 2.13 calls TorchScript deprecated; it still writes and loads it
        traced = torch.jit.trace(module, (example,), check_trace=False)
        torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: json.dumps(metadata)})
    return buffer.getvalue()


@contextlib.contextmanager
def _quiet():
    """Without the exporters' progress lines and warnings (torch.onnx prints each of its stages)."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "torch._dynamo")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


# ----------------------------------------------------------------------------- read


def detect_format(path: Path) -> str:
    """The format the suffix says (.onnx, .pt, .ts); for another name, "torchscript" for a zip
    archive, else "onnx" (whose reader then says if it is not one)."""
    if Path(path).suffix.lower() in SUFFIXES:
        return SUFFIXES[Path(path).suffix.lower()]
    with open(path, "rb") as handle:
        return "torchscript" if handle.read(4) == ZIP_MAGIC else "onnx"


class Runner:
    """An exported file, ready to act: `runner(obs)` maps a NumPy observation batch to NumPy
    actions; `metadata` is what rlforge stored beside the graph."""

    def __init__(self, path: Path, fmt: str | None = None):
        self.path = Path(path)
        self.format = fmt or detect_format(self.path)
        try:
            if self.format == "onnx":
                self._run, self.metadata = _open_onnx(self.path)
            else:
                self._run, self.metadata = _open_torchscript(self.path)
        except RLForgeError:
            raise
        except Exception as exc:  # noqa: BLE001 (each runtime has its own errors for a bad file)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RLForgeError(f"{str(path)!r} is not a readable {self.format} policy: {first}") from None

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self._run(np.ascontiguousarray(obs, dtype=np.float32))


def _open_onnx(path: Path):
    try:
        import onnxruntime
    except ImportError:
        raise _missing("onnxruntime") from None
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    stored = session.get_modelmeta().custom_metadata_map
    metadata = {key: json.loads(value) if key in JSON_KEYS else value for key, value in stored.items()}
    name = session.get_inputs()[0].name
    return (lambda obs: session.run(None, {name: obs})[0]), metadata


def _open_torchscript(path: Path):
    import torch

    extra = {METADATA_FILE: ""}
    with _quiet():
        module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    metadata = json.loads(extra[METADATA_FILE]) if extra[METADATA_FILE] else {}

    def run(obs: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(obs)).numpy()

    return run, metadata
