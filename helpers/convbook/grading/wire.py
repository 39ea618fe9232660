"""Plain data between the grader and a student's kernel: JSON, with tensors as bytes.

The grader (the harness, trusted) and the kernel that ran a student's notebook (untrusted)
exchange only values this module can write: ``None``, booleans, integers, floats,
strings, tuples, lists and dicts of them, PyTorch tensors and NumPy arrays (dtype, shape
and raw bytes), and *handles*: a number standing for an object that stays in the kernel
(a function, a class, a module instance), with its class's name. Decoding builds nothing
but those values: no pickle, no import, no code. Every size is bounded, so a reply cannot
make the grader run out of memory or time while it reads it.

Both sides import this module; only the harness calls :func:`decode` on what the kernel
sent, and it treats what comes out as data that says nothing until compared.
"""

from __future__ import annotations

import base64
import math
import sys
from typing import Any

__all__ = ["Handle", "Make", "WireError", "decode", "encode"]

MAX_DEPTH = 32
MAX_ITEMS = 100_000  # list, tuple and dict entries in one message, all levels together
MAX_STRING = 1 << 20  # characters of one string
MAX_INT_DIGITS = 4_000
MAX_TENSOR_BYTES = 64 << 20
MAX_DIMS = 8

# dtype name -> (torch attribute, bytes per element); no object dtypes, ever.
DTYPES = {
    "float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4,
    "int16": 2, "int8": 1, "uint8": 1, "bool": 1, "complex64": 8, "complex128": 16,
}  # fmt: skip


class WireError(ValueError):
    """A message that is not the plain data this protocol allows."""


class Handle:
    """An object that stays in the kernel: its id there and what the kernel says it is.

    Attributes:
        id: the kernel's number for it.
        type: its class, as ``module.QualName`` (the kernel's word, not checked).
        mro: the classes it says it derives from, the same way.
        callable: whether it can be called.
        is_module: whether it says it is a ``torch.nn.Module``.
        text: a short ``repr`` of it, for messages.
    """

    def __init__(self, id: int, type: str, mro: tuple[str, ...], callable: bool,
                 is_module: bool, text: str) -> None:  # fmt: skip
        self.id, self.type, self.mro = id, type, mro
        self.callable, self.is_module, self.text = callable, is_module, text

    def __repr__(self) -> str:
        return f"<kernel object {self.id}: {self.type}>"


class Make:
    """Harness -> kernel: build an object there from a recipe (see ``convbook.checks.build``).

    Attributes:
        key: the harness's number for the object, so that sending it again reuses it.
        spec: the recipe (plain data).
        state: tensors to load into it after building, by name.
    """

    def __init__(self, key: int, spec: Any, state: dict[str, Any]) -> None:
        self.key, self.spec, self.state = key, spec, state


def _torch():
    return sys.modules.get("torch")


def _numpy():
    return sys.modules.get("numpy")


def _tensor_bytes(value) -> tuple[str, list[int], bytes]:
    torch = _torch()
    plain = value.detach()
    if plain.is_sparse or plain.layout != torch.strided:
        plain = plain.to_dense()
    plain = plain.to("cpu").contiguous()
    name = str(plain.dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise WireError(f"a tensor of dtype {name} cannot be sent")
    if plain.dtype == torch.bfloat16:
        data = plain.view(torch.int16).numpy().tobytes()
    else:
        data = plain.numpy().tobytes()
    return name, list(plain.shape), data


def encode(value: Any, handle_of=None, _depth: int = 0) -> Any:
    """``value`` as JSON-ready data.

    Args:
        value: what to send.
        handle_of: called with any object that is not plain data; returns the ``Handle``
            to send for it (the kernel's side keeps the object). Without it such objects
            are an error.

    Raises:
        WireError: for a value that cannot be sent.
    """
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(value)
    if value is None or kind in (bool, str):
        return value
    if kind is int:
        return value if abs(value) < 2**53 else {"$": "int", "v": str(value)}
    if kind is float:
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if kind in (list, tuple):
        items = [encode(item, handle_of, _depth + 1) for item in value]
        return items if kind is list else {"$": "tuple", "items": items}
    if kind is dict:
        return {"$": "dict", "items": [[encode(k, handle_of, _depth + 1),
                                         encode(v, handle_of, _depth + 1)]
                                        for k, v in value.items()]}  # fmt: skip
    # subclasses of the plain types travel as their plain value (a Counter is a dict, a
    # namedtuple a tuple, an int subclass its number), read without calling their methods
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return encode(int.__int__(value), handle_of, _depth)
    if isinstance(value, float):
        return encode(float.__float__(value), handle_of, _depth)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, dict):
        return encode(dict(dict.items(value)), handle_of, _depth)
    if isinstance(value, (list, tuple)):
        plain = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return encode(list(plain) if isinstance(value, list) else tuple(plain), handle_of, _depth)
    if isinstance(value, Handle):
        return {"$": "ref", "id": value.id}
    if isinstance(value, Make):
        return {"$": "make", "key": value.key, "spec": encode(value.spec, None, _depth + 1),
                "state": encode(value.state, None, _depth + 1)}  # fmt: skip
    torch, numpy = _torch(), _numpy()
    if torch is not None:
        if isinstance(value, torch.Tensor):
            name, shape, data = _tensor_bytes(value)
            return {"$": "tensor", "dtype": name, "shape": shape,
                    "data": base64.b64encode(data).decode("ascii"),
                    "grad": bool(value.requires_grad), "device": str(value.device)}  # fmt: skip
        if isinstance(value, torch.Size):
            return {"$": "tuple", "items": [int(n) for n in value]}
        if isinstance(value, torch.dtype):
            return {"$": "dtype", "v": str(value).removeprefix("torch.")}
        if isinstance(value, torch.device):
            return str(value)
    if numpy is not None:
        if isinstance(value, numpy.bool_):
            return bool(value)
        if isinstance(value, numpy.integer):
            return encode(int(value), handle_of, _depth)
        if isinstance(value, numpy.floating):
            return encode(float(value), handle_of, _depth)
        if isinstance(value, numpy.ndarray) and value.dtype.name in DTYPES:
            array = numpy.ascontiguousarray(value)
            return {"$": "ndarray", "dtype": array.dtype.name, "shape": list(array.shape),
                    "data": base64.b64encode(array.tobytes()).decode("ascii")}  # fmt: skip
    if handle_of is None:
        raise WireError(f"a {kind.__name__} cannot be sent as data")
    handle = handle_of(value)
    return {"$": "handle", "id": handle.id, "type": handle.type, "mro": list(handle.mro),
            "callable": handle.callable, "module": handle.is_module,
            "text": handle.text[:200]}  # fmt: skip


class _Budget:
    def __init__(self) -> None:
        self.items = 0
        self.tensor_bytes = 0

    def count(self, n: int) -> None:
        self.items += n
        if self.items > MAX_ITEMS:
            raise WireError(f"more than {MAX_ITEMS} items in one message")


def _shape(raw: Any) -> tuple[int, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_DIMS:
        raise WireError("a tensor's shape must be a list of at most 8 sizes")
    if not all(type(n) is int and 0 <= n <= MAX_TENSOR_BYTES for n in raw):
        raise WireError("a tensor's sizes must be non-negative integers")
    return tuple(raw)


def _raw_bytes(raw: dict, budget: _Budget) -> tuple[str, tuple[int, ...], bytes]:
    dtype = raw.get("dtype")
    if dtype not in DTYPES:
        raise WireError(f"unknown dtype {str(dtype)[:40]!r}")
    shape = _shape(raw.get("shape"))
    data = raw.get("data")
    if not isinstance(data, str) or len(data) > MAX_TENSOR_BYTES * 4 // 3 + 8:
        raise WireError("tensor data missing or too large")
    count = math.prod(shape)
    if count * DTYPES[dtype] > MAX_TENSOR_BYTES:
        raise WireError("tensor too large")
    try:
        payload = base64.b64decode(data, validate=True)
    except ValueError:
        raise WireError("tensor data is not base64") from None
    if len(payload) != count * DTYPES[dtype]:
        raise WireError(f"tensor data has {len(payload)} bytes, its shape and dtype say "
                        f"{count * DTYPES[dtype]}")  # fmt: skip
    budget.tensor_bytes += len(payload)
    if budget.tensor_bytes > 4 * MAX_TENSOR_BYTES:
        raise WireError("too many tensor bytes in one message")
    return dtype, shape, payload


def _tensor(raw: dict, budget: _Budget):
    import torch

    dtype, shape, payload = _raw_bytes(raw, budget)
    if dtype == "bfloat16":
        flat = torch.frombuffer(bytearray(payload), dtype=torch.int16).view(torch.bfloat16)
    elif payload:
        flat = torch.frombuffer(bytearray(payload), dtype=getattr(torch, dtype))
    else:
        flat = torch.empty(0, dtype=getattr(torch, dtype))
    tensor = flat.reshape(shape).clone()
    if raw.get("grad") is True and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor, str(raw.get("device", "cpu"))[:40]


def decode(data: Any, *, make_ref=None, on_tensor=None, _depth: int = 0,
           _budget: _Budget | None = None) -> Any:  # fmt: skip
    """The value ``data`` stands for (the reverse of :func:`encode`).

    Args:
        data: JSON-decoded data.
        make_ref: the kernel's side: turns ``{"$": "ref"}`` and ``{"$": "make"}`` into its
            objects. The harness leaves it None: such data from a kernel is an error.
        on_tensor: called as ``on_tensor(tensor, device)`` for each decoded tensor; returns
            what to put in its place (the harness records the devices this way).

    Raises:
        WireError: for anything else than the data this protocol allows.
    """
    budget = _budget if _budget is not None else _Budget()
    if _depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, float):
        return data
    if kind is int:
        if abs(data) >= 10**MAX_INT_DIGITS:
            raise WireError("integer too large")
        return data
    if kind is str:
        if len(data) > MAX_STRING:
            raise WireError("string too long")
        return data

    def inner(item: Any) -> Any:
        return decode(item, make_ref=make_ref, on_tensor=on_tensor, _depth=_depth + 1,
                      _budget=budget)  # fmt: skip

    if kind is list:
        budget.count(len(data))
        return [inner(item) for item in data]
    if kind is not dict:
        raise WireError(f"unexpected {kind.__name__} in a message")
    tag = data.get("$")
    if tag == "tuple":
        items = data.get("items")
        if not isinstance(items, list):
            raise WireError("a tuple needs a list of items")
        budget.count(len(items))
        return tuple(inner(item) for item in items)
    if tag == "dict":
        pairs = data.get("items")
        if not isinstance(pairs, list):
            raise WireError("a dict needs a list of pairs")
        budget.count(len(pairs))
        out = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("a dict entry must be a pair")
            key = inner(pair[0])
            if type(key) not in (str, int, float, bool, tuple, type(None)):
                raise WireError("a dict key must be a string, number or tuple")
            out[key] = inner(pair[1])
        return out
    if tag == "int":
        text = data.get("v")
        if (
            not isinstance(text, str)
            or len(text) > MAX_INT_DIGITS
            or not text.lstrip("-").isdigit()
        ):
            raise WireError("bad integer")
        return int(text)
    if tag == "float":
        if data.get("v") not in ("nan", "inf", "-inf"):
            raise WireError("bad float")
        return float(data["v"])
    if tag == "tensor":
        tensor, device = _tensor(data, budget)
        return on_tensor(tensor, device) if on_tensor is not None else tensor
    if tag == "ndarray":
        import numpy

        dtype, shape, payload = _raw_bytes(data, budget)
        if dtype == "bfloat16":
            raise WireError("NumPy has no bfloat16")
        return numpy.frombuffer(payload, dtype=dtype).reshape(shape).copy()
    if tag == "dtype":
        import torch

        name = data.get("v")
        if name not in DTYPES:
            raise WireError("unknown dtype")
        return getattr(torch, name)
    if tag == "handle":
        mro = data.get("mro", [])
        if not isinstance(mro, list) or len(mro) > 64:
            raise WireError("bad handle")
        texts = [data.get("type"), data.get("text"), *mro]
        if not all(isinstance(t, str) and len(t) <= 400 for t in texts):
            raise WireError("bad handle")
        if type(data.get("id")) is not int:
            raise WireError("bad handle id")
        return Handle(data["id"], data["type"], tuple(mro), data.get("callable") is True,
                      data.get("module") is True, data["text"])  # fmt: skip
    if tag in ("ref", "make") and make_ref is not None:
        return make_ref(data, inner)
    raise WireError(f"unknown value tag {str(tag)[:40]!r}")
