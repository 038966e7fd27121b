"""CS285 pickles that would make the allowed NumPy constructors allocate far more than the
file holds, nest without end, refer to themselves or repeat one reference into a huge
expansion are refused in one line, quickly, before anything large is allocated."""

import pickle
import resource
import struct
import time

import numpy as np
import pytest

from rlforge.errors import RLForgeError
from rlforge.safe_pickle import safe_load

NDARRAY = b"cnumpy\nndarray\n"
RECONSTRUCT = b"cnumpy._core.multiarray\n_reconstruct\n"
DTYPE_F8 = b"cnumpy\ndtype\nX\x02\x00\x00\x00f8\x89\x88\x87R"


def _int(n: int) -> bytes:
    """A pickled int (LONG1 for anything beyond 32 bits)."""
    if -2**31 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def bytes_bomb() -> bytes:  # builtins.bytes(10**13): ten terabytes of zeros
    return b"\x80\x02cbuiltins\nbytes\n" + _int(10**13) + b"\x85R."


def reconstruct_bomb() -> bytes:  # numpy's _reconstruct(ndarray, (10**13,), 'b'): a huge empty array
    return b"\x80\x02" + RECONSTRUCT + NDARRAY + _int(10**13) + b"\x85C\x01b\x87R."


def ndarray_call() -> bytes:  # numpy.ndarray((10**13,)) called directly
    return b"\x80\x02" + NDARRAY + _int(10**13) + b"\x85\x85R."


def zero_itemsize_array() -> bytes:
    """An array of 10^15 elements of a zero-byte dtype: no bytes in the file, petabytes once
    a caller converts it to float32."""
    state = b"(K\x01" + _int(10**15) + b"\x85cnumpy\ndtype\nX\x02\x00\x00\x00V0\x89\x88\x87R\x89C\x00t"
    return b"\x80\x02" + RECONSTRUCT + NDARRAY + b"K\x00\x85C\x01b\x87R" + state + b"b."


def codecs_other_encoding() -> bytes:  # _codecs.encode with a codec other than latin1
    return b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x0a\x00\x00\x00zlib_codec\x86R."


def deep_list(depth=100_000) -> bytes:
    return b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."


def self_reference() -> bytes:  # a list that contains itself
    return b"\x80\x02]q\x00h\x00a."


def shared_reference_expansion(levels=60) -> bytes:
    """[x, x] nested `levels` times: a few hundred bytes, 2^60 values once expanded."""
    body = b"\x80\x02K\x01"
    for _ in range(levels):
        body += b"q\x00h\x00\x86"  # memoise the top, push it again, pair the two
    return body + b"."


def shared_array_expansion() -> bytes:
    """One 8 MB array referenced 10^6 times in a list: 8 TB for a caller that concatenates."""
    array = pickle.dumps(np.zeros(1 << 20), protocol=2)[2:-1]  # without PROTO and STOP
    return b"\x80\x02" + array + b"q\x00(" + b"h\x00" * 1_000_000 + b"l."


BOMBS = {
    "bytes(10**13)": (bytes_bomb, "refusing bytes() with arguments"),
    "_reconstruct of 10**13 elements": (reconstruct_bomb, "refusing an array reconstruction"),
    "ndarray called directly": (ndarray_call, "not a readable pickle"),
    "10**15 zero-byte elements": (zero_itemsize_array, "more than this machine"),
    "_codecs.encode to zlib": (codecs_other_encoding, "refusing _codecs.encode"),
    "100,000-deep list": (deep_list, "refusing nesting deeper"),
    "a list containing itself": (self_reference, "contains itself"),
    "2^60 values by shared references": (shared_reference_expansion, "expands to more than"),
    "one array referenced 10^6 times": (shared_array_expansion, "more than this machine"),
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_pickle_bomb_is_refused_in_one_line(tmp_path, name):
    build, expected = BOMBS[name]
    path = tmp_path / "bomb.pkl"
    path.write_bytes(build())
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(RLForgeError) as info:
        safe_load(path)
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert expected in message and "\n" not in message, message
    assert elapsed < 10, f"took {elapsed:.1f} s"
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kib < 1_000_000, f"peak memory grew by {grown_kib} KiB"


def test_the_bombs_are_real_for_an_unrestricted_loader(tmp_path):
    """The crafted files are valid pickles that do what they claim when loaded unrestricted."""
    loaded = pickle.loads(zero_itemsize_array())
    assert loaded.size == 10**15 and loaded.dtype.itemsize == 0
    with pytest.raises(MemoryError):
        pickle.loads(reconstruct_bomb())
    nested = pickle.loads(shared_reference_expansion(levels=3))
    assert nested == (((1, 1), (1, 1)), ((1, 1), (1, 1)))
    shared = pickle.loads(shared_array_expansion())
    assert len(shared) == 1_000_000 and shared[0] is shared[-1]


def test_numpy_arrays_of_every_protocol_still_load(tmp_path):
    values = {"f": np.arange(12.0).reshape(3, 4), "empty": np.zeros((0, 3), np.float32),
              "i": np.arange(5, dtype=np.int64), "fortran": np.asfortranarray(np.ones((2, 3)))}
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps([values, values], protocol=protocol))  # a shared reference too
        loaded = safe_load(path)
        for key, array in values.items():
            np.testing.assert_array_equal(loaded[1][key], array)
