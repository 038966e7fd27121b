"""Gymnasium spaces as the JSON strings Minari keeps in metadata.json (Box, Discrete,
MultiDiscrete, MultiBinary). Parsing builds the space from numbers only: nothing is imported
or made from an env spec."""

from __future__ import annotations

import json

import numpy as np
from gymnasium import spaces

from rlforge.errors import RLForgeError

SUPPORTED = ("Box", "Discrete", "MultiDiscrete", "MultiBinary")
NUMERIC_DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                            "float16", "float32", "float64"})


def space_to_json(space) -> str:
    """`space` as Minari serialises it (minari.serialization.serialize_space)."""
    if isinstance(space, spaces.Box):
        body = {"type": "Box", "dtype": str(space.dtype), "shape": list(space.shape),
                "low": space.low.tolist(), "high": space.high.tolist()}
    elif isinstance(space, spaces.Discrete):
        body = {"type": "Discrete", "dtype": "int64", "start": int(space.start), "n": int(space.n)}
    elif isinstance(space, spaces.MultiDiscrete):
        body = {"type": "MultiDiscrete", "dtype": str(space.dtype), "nvec": space.nvec.tolist(),
                "start": space.start.tolist()}
    elif isinstance(space, spaces.MultiBinary):
        body = {"type": "MultiBinary", "n": space.n if isinstance(space.n, int) else list(space.n)}
    else:
        raise RLForgeError(f"cannot store a {type(space).__name__} space in a dataset (only {', '.join(SUPPORTED)})")
    return json.dumps(body)


def space_from_json(text, what: str = "space"):
    """The space serialised in `text` (a JSON string or its parsed dict); one-line error for
    a space rlforge does not read (Dict, Tuple, Text, ...) or a malformed one."""
    try:
        body = json.loads(text) if isinstance(text, str) else text
        kind = body["type"]
    except (TypeError, ValueError, KeyError):
        raise RLForgeError(f"{what} is not a serialised Gymnasium space") from None
    if kind not in SUPPORTED:
        raise RLForgeError(f"{what} is a {kind} space; rlforge reads datasets with {', '.join(SUPPORTED)} spaces")
    try:
        if kind == "Box":
            dtype = _dtype(body["dtype"], what)
            shape = tuple(int(n) for n in body["shape"])
            low = np.array(body["low"], dtype=np.float64).reshape(shape)
            high = np.array(body["high"], dtype=np.float64).reshape(shape)
            return spaces.Box(low=low.astype(dtype), high=high.astype(dtype), shape=shape, dtype=dtype)
        if kind == "Discrete":
            return spaces.Discrete(n=int(body["n"]), start=int(body.get("start", 0)))
        if kind == "MultiDiscrete":
            return spaces.MultiDiscrete(nvec=np.array(body["nvec"], dtype=np.int64), dtype=_dtype(body["dtype"], what),
                                        start=np.array(body.get("start", 0), dtype=np.int64))
        n = body["n"]
        return spaces.MultiBinary(n=int(n) if isinstance(n, int) else [int(v) for v in n])
    except (KeyError, TypeError, ValueError, AssertionError) as exc:
        raise RLForgeError(f"{what} is a malformed {kind} space ({type(exc).__name__}: {exc})") from None


def _dtype(name, what: str) -> np.dtype:
    if name not in NUMERIC_DTYPES:
        raise RLForgeError(f"{what} has dtype {name!r}; only numeric dtypes are read")
    return np.dtype(name)


def is_image_space(space) -> bool:
    """Minari's test for an image space (which it JPEG-encodes by default)."""
    return (isinstance(space, spaces.Box) and len(space.shape) in (2, 3) and space.shape[0] >= 32
            and space.shape[1] >= 32 and space.dtype == np.uint8
            and bool(np.all(space.low == 0)) and bool(np.all(space.high == 255)))
