"""The kernel's side of grading: it answers the grader's calls, and decides nothing.

While a student's notebook is graded, its kernel runs the student's cells and, between
them, requests from the harness (``harness.py``, outside the jail): "call ``max_relu`` on
these tensors", "build a ``Conv2d`` with these weights", "run this module forward and
backward". Each request is one message on a Jupyter comm (``open_channel``), and the reply
is one message holding plain data (``wire.encode``). No test, reference, tolerance or rule
check is ever sent here: a student who replaces this module can only send other data,
which the harness still compares with what it computed itself.

Objects that are not plain data (functions, classes, modules) stay here, and the harness
gets a handle to them.
"""

from __future__ import annotations
import __future__

import contextlib
import importlib
import json
import linecache
import os
import sys
import traceback
from typing import Any

from convbook.grading import wire

__all__ = ["answer", "open_channel"]

_BUILD_PREFIXES = ("torch.nn.", "convbook.models.")

_objects: dict[int, Any] = {}  # handle id -> object (kept alive here)
_ids: dict[int, int] = {}  # id(object) -> handle id
_made: dict[int, int] = {}  # the harness's key of a built object -> handle id
_spaces: dict[int, dict] = {}  # clean namespaces (rule-checked code only)


def _handle_of(value: Any) -> wire.Handle:
    known = _ids.get(id(value))
    if known is None or _objects.get(known) is not value:
        known = len(_objects) + 1
        while known in _objects:
            known += 1
        _objects[known] = value
        _ids[id(value)] = known
    cls = type(value)
    torch = sys.modules.get("torch")
    is_module = torch is not None and isinstance(value, torch.nn.Module)
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = f"<{cls.__qualname__}>"
    return wire.Handle(known, _path(cls), tuple(_path(c) for c in cls.__mro__), callable(value),
                       is_module, text[:200])  # fmt: skip


def _path(cls: type) -> str:
    return f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"


def _resolve_build(path: str):
    if not isinstance(path, str) or not path.startswith(_BUILD_PREFIXES):
        raise ValueError(f"cannot build {str(path)[:80]!r}")
    module, _, name = path.rpartition(".")
    owner: Any = None
    while module:
        try:
            owner = importlib.import_module(module)
            break
        except ImportError:
            module, _, outer = module.rpartition(".")
            name = f"{outer}.{name}"
    if owner is None:
        raise ValueError(f"cannot build {path!r}")
    for part in name.split("."):
        owner = getattr(owner, part)
    return owner


def _build(spec: Any) -> Any:
    if isinstance(spec, dict) and "build" in spec:
        factory = _resolve_build(spec["build"])
        args = [_build(a) for a in spec.get("args", [])]
        kwargs = {k: _build(v) for k, v in spec.get("kwargs", {}).items()}
        return factory(*args, **kwargs)
    if isinstance(spec, list):
        return [_build(item) for item in spec]
    if isinstance(spec, tuple):
        return tuple(_build(item) for item in spec)
    return spec


def _make_ref(data: dict, inner) -> Any:
    if data["$"] == "ref":
        if data.get("id") not in _objects:
            raise wire.WireError("unknown handle")
        return _objects[data["id"]]
    key = data.get("key")
    if key in _made:
        return _objects[_made[key]]
    made = _build(inner(data.get("spec")))
    state = inner(data.get("state") or {"$": "dict", "items": []})
    if state:
        from convbook.probes import load_state

        load_state(made, state)
    _made[key] = _handle_of(made).id
    return made


def _device():
    try:
        from convbook.device import try_gpu

        return try_gpu()
    except ImportError:
        import torch

        return torch.device("cpu")


def _move(value: Any, device) -> Any:
    import torch

    if isinstance(value, (torch.Tensor, torch.nn.Module)):
        return value.to(device)
    if isinstance(value, list):
        return [_move(v, device) for v in value]
    if isinstance(value, tuple) and not isinstance(value, torch.Size):
        return tuple(_move(v, device) for v in value)
    if isinstance(value, dict):
        return {k: _move(v, device) for k, v in value.items()}
    return value


def _rule(spec: dict | None):
    """The runtime form of a rule (a second signal: the harness checks the source)."""
    if not spec:
        return contextlib.nullcontext()
    from convbook import allowed

    kind = spec.get("kind")
    if kind == "forbid":
        return allowed.trace_forbid(*spec["names"], hint=spec.get("hint", ""))
    if kind == "only":
        return allowed.trace_only(*spec["names"], what=spec.get("what", ""),
                                  hint=spec.get("hint", ""))  # fmt: skip
    if kind == "arithmetic":
        return allowed.trace_no_torch(spec.get("what", ""))
    raise ValueError(f"unknown rule {kind!r}")


def _user_namespace(space: Any) -> dict:
    if space is not None:
        return _spaces[space]
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    return shell.user_ns if shell is not None else {}


def _dispatch(request: dict) -> Any:
    op = request.get("op")

    def placed(tensor, device: str):  # a tensor the grader had on a GPU goes on ours
        return tensor if device == "cpu" else tensor.to(_device())

    def get(key: str):
        return wire.decode(request.get(key), make_ref=_make_ref, on_tensor=placed)

    if op == "hello":
        return {"device": str(_device()), "pid": os.getpid()}
    if op == "lookup":
        space = _user_namespace(request.get("space"))
        found = {}
        for name in request["names"]:
            if name in space:
                found[name] = space[name]
        return found
    if op == "clean":
        namespace: dict = {"__name__": "__answer__"}
        exec(compile(request["context"], "<assignment imports>", "exec"), namespace)  # noqa: S102
        key = len(_spaces) + 1
        filename = f"<your answer {key}>"
        linecache.cache[filename] = (len(request["code"]), None,
                                     request["code"].splitlines(True), filename)  # fmt: skip
        # annotations stay text: the rule check read them, and nothing of them is run
        flags = __future__.annotations.compiler_flag
        code = compile(request["code"], filename, "exec", flags=flags, dont_inherit=True)
        exec(code, namespace)  # noqa: S102
        _spaces[key] = namespace
        return key
    target = get("target")
    if op == "getattr":
        return getattr(target, request["name"])
    if op == "iter":
        return list(target)
    args, kwargs = get("args") or [], get("kwargs") or {}
    if request.get("device"):
        device = _device()
        target = _move(target, device)
        args, kwargs = _move(args, device), _move(kwargs, device)
    if op == "helper":  # one of convbook.probes's functions, run on the object here
        from convbook.probes import LOCAL

        return LOCAL[request["name"]](target, *args, **kwargs)
    if op == "call":
        with _rule(request.get("rule")):
            return target(*args, **kwargs)
    raise ValueError(f"unknown request {str(op)[:40]!r}")


def _student_frames(error: BaseException) -> str:
    """Where in the student's own code (a cell, or the answer's code run for a rule) the
    error happened, as traceback lines with the source."""
    lines = []
    for frame in traceback.extract_tb(error.__traceback__):
        name = frame.filename
        if name.startswith("<your answer"):
            where = "your answer's code"
        elif "ipykernel_" in name or name.startswith("<ipython-input"):
            where = "a cell of your notebook"
        else:
            continue
        lines.append(f"  {where}, line {frame.lineno}, in {frame.name}\n")
        if frame.line:
            lines.append(f"    {frame.line.strip()}\n")
    return "".join(lines[-16:])[-3000:]


def answer(request_text: str) -> str:
    """The reply (JSON text) to one request (JSON text)."""
    try:
        request = json.loads(request_text)
        value = _dispatch(request)
        reply = {"ok": True, "value": wire.encode(value, _handle_of)}
    except Exception as error:  # noqa: BLE001 - every failure of the answer is a reply
        try:
            message = str(error)
        except Exception:  # noqa: BLE001
            message = "(its message could not be shown)"
        reply = {"ok": False, "error": {
            "type": type(error).__name__[:80],
            "builtin": type(error).__module__ == "builtins",
            "message": message[:4000],
            "where": _student_frames(error),
        }}  # fmt: skip
    return json.dumps(reply)


def open_channel() -> None:
    """Register the comm target the grader opens (``harness.COMM_TARGET``)."""
    from comm import get_comm_manager

    def opened(comm, _message) -> None:
        @comm.on_msg
        def received(message) -> None:
            data = message["content"]["data"]
            comm.send({"reply": answer(data.get("request", ""))})

    get_comm_manager().register_target("convbook.grader", opened)
