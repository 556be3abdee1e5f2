"""Model files for the airlock: count an ONNX model's parameters without the onnx package (rule
四.(四) R4.4a: a model with as many parameters as subjects can restore their records).

ONNX is the one model format allowed out of the domain: it is a protobuf description of a graph,
loaded without running code (pickle and joblib run code when loaded and are refused). This module
walks the protobuf wire format far enough to add up every weight: graph initializers, sparse
initializers, ``Constant`` node tensors, and the same in every subgraph (``If``, ``Loop``, ``Scan``).
Weights stored in external files are reported, since nobody could check them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class OnnxInfo:
    """Parameters of an ONNX model: initializers, sparse initializers and Constant tensors, in every
    subgraph; ``external`` when some weights live in files outside the model."""

    parameters: int
    external: bool


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[pos]
        result |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Protobuf wire format: (field number, wire type, value) for varint, fixed and bytes fields."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 1:
            yield number, wire, buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            yield number, wire, buf[pos : pos + length]
            pos += length
        elif wire == 5:
            yield number, wire, buf[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")


def _tensor(buf: bytes) -> tuple[int, bool]:
    dims, external = [], False
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 0:
            dims.append(int(value))  # type: ignore[arg-type]
        elif number == 1 and wire == 2:
            packed, pos = bytes(value), 0  # type: ignore[arg-type]
            while pos < len(packed):
                dim, pos = _varint(packed, pos)
                dims.append(dim)
        elif number == 14 and wire == 0 and value == 1:
            external = True
    count = 1
    for dim in dims:
        count *= dim
    return count, external


def _graph(buf: bytes, depth: int = 0) -> tuple[int, bool]:
    if depth > 32:
        raise ValueError("graphs nested too deeply")
    total, external = 0, False

    def add(result: tuple[int, bool]) -> None:
        nonlocal total, external
        total += result[0]
        external = external or result[1]

    for number, wire, value in _fields(buf):
        if wire != 2:
            continue
        if number == 5:  # GraphProto.initializer
            add(_tensor(value))  # type: ignore[arg-type]
        elif number == 15:  # GraphProto.sparse_initializer → SparseTensorProto.values
            for sub_number, _, sub in _fields(value):  # type: ignore[arg-type]
                if sub_number == 1:
                    add(_tensor(sub))  # type: ignore[arg-type]
        elif number == 1:  # GraphProto.node → NodeProto.attribute
            for sub_number, sub_wire, attribute in _fields(value):  # type: ignore[arg-type]
                if sub_number == 5 and sub_wire == 2:
                    add(_attribute(attribute, depth))  # type: ignore[arg-type]
    return total, external


def _attribute(buf: bytes, depth: int) -> tuple[int, bool]:
    total, external = 0, False
    for number, wire, value in _fields(buf):
        if wire != 2:
            continue
        if number in (5, 10):  # AttributeProto.t / tensors (Constant nodes)
            count, ext = _tensor(value)  # type: ignore[arg-type]
        elif number in (6, 11):  # AttributeProto.g / graphs (If, Loop, Scan bodies)
            count, ext = _graph(value, depth + 1)  # type: ignore[arg-type]
        else:
            continue
        total += count
        external = external or ext
    return total, external


def onnx_parameters(data: bytes) -> OnnxInfo | None:
    """The parameters of an ONNX ModelProto, or None when ``data`` is not one (no graph, no IR
    version, or a broken protobuf)."""
    try:
        ir_version = graph = None
        for number, wire, value in _fields(data):
            if number == 1 and wire == 0:
                ir_version = value
            elif number == 7 and wire == 2:
                graph = value
        if not isinstance(ir_version, int) or not 1 <= ir_version <= 64 or not isinstance(graph, bytes):
            return None
        total, external = _graph(graph)
    except (ValueError, IndexError):
        return None
    return OnnxInfo(total, external)
