"""The grader's side of a graded notebook: test cells run here, never in the student's kernel.

``execute.SandboxedExecute`` runs the student's cells in the jailed kernel. When it reaches
a test cell it does not send it there: it hands the cell to :class:`Harness`, which runs
the test's code in this process (the worker, outside the jail), against the assignment's
own imports. Wherever the test names an answer (``max_relu``, ``ModernLeNet``), the
harness binds a proxy instead: calling it sends the inputs to the kernel as plain data
(``wire``), the kernel calls the student's function (``server``) and sends plain data
back. The inputs, the seeds, the references, the tolerances and every comparison exist
only here, so nothing the student's code does in the kernel (rebinding ``torch.allclose``,
walking up the stack, printing, patching a class) can reach a verdict: the test's code
is not in that process.

Tests whose answers have a rule on how they are computed (``forbid``, ``only``,
``arithmetic_only``) run first, before any of the student's cells: the harness finds each
answer's code in the notebook (``answer_code.closure``), checks it against the rule
(``rules.check``) and has the kernel run exactly that code in a namespace of its own, with
the PyTorch trace of ``convbook.checks`` around each call as a second signal.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import hashlib
import io
import itertools
import json
import time
import traceback
import uuid
from typing import Any

from . import answer_code, rules, wire

__all__ = ["AnswerError", "Harness", "KernelChannel", "Remote", "RuledAnswer"]

COMM_TARGET = "convbook.grader"
_OPEN = (
    "import convbook.grading.server as _convbook_server\n"
    "_convbook_server.open_channel()\n"
    "del _convbook_server"
)


class KernelLost(Exception):
    """The kernel died or stopped answering: the notebook cannot go on."""


class AnswerError(Exception):
    """The student's code raised an exception in the kernel (the class says which)."""

    where = ""


class AnswerTimeout(AssertionError):
    """The student's code did not return in time (the kernel was interrupted)."""


_BUILTIN_ERRORS = (
    ValueError, TypeError, RuntimeError, NotImplementedError, IndexError, KeyError,
    AttributeError, NameError, ZeroDivisionError, AssertionError, ArithmeticError,
    LookupError, OverflowError, RecursionError, MemoryError, ImportError,
    ModuleNotFoundError, UnboundLocalError, StopIteration, FloatingPointError,
)  # fmt: skip
_ERROR_CLASSES = {
    cls.__name__: type(cls.__name__, (AnswerError, cls), {}) for cls in _BUILTIN_ERRORS
}


def _raised(error: dict) -> Exception:
    """The exception to raise here for one the answer raised in the kernel."""
    from convbook.checks import CheckFailed

    name = str(error.get("type", "Exception"))[:80]
    message = str(error.get("message", ""))
    where = str(error.get("where", ""))
    if name == "CheckFailed":  # a rule's trace refused an operation
        return CheckFailed(message)
    cls = _ERROR_CLASSES.get(name) if error.get("builtin") else None
    text = message if cls is not None else f"{name}: {message}"
    exception = (cls or AnswerError)(text)
    exception.where = where
    return exception


class KernelChannel:
    """Requests to the kernel's ``server`` over a Jupyter comm, one at a time.

    Attributes:
        device: the device the kernel computes on (``try_gpu()`` there).
    """

    def __init__(self, client, manager, *, timeout: float, max_reply_bytes: int) -> None:
        self.client, self.manager = client, manager
        self.timeout, self.max_reply_bytes = timeout, max_reply_bytes
        self.comm_id = uuid.uuid4().hex
        self.deadline = float("inf")  # no request may run past it (the test cell's time)
        self.device = "cpu"
        self.opened = False
        self.seconds = 0.0
        self.requests = 0

    def _sync(self, function, *args, **kwargs):
        """Call a client or manager method, which may be a coroutine (nbclient's are)."""
        import inspect

        from jupyter_core.utils import run_sync

        if inspect.iscoroutinefunction(function):
            return run_sync(function)(*args, **kwargs)
        return function(*args, **kwargs)

    def _next_iopub(self, timeout: float):
        from queue import Empty

        try:
            return self._sync(self.client.get_iopub_msg, timeout=timeout)
        except Empty:
            return None

    def _wait_idle(self, msg_id: str, deadline: float, on_message=None) -> bool:
        """Read iopub until the kernel is idle after ``msg_id``; False on timeout."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            message = self._next_iopub(min(remaining, 1.0))
            if message is None:
                if not self._sync(self.manager.is_alive):
                    raise KernelLost("the kernel died")
                continue
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            if on_message is not None:
                on_message(message)
            if (message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"):  # fmt: skip
                return True

    def open(self) -> None:
        """Load the server in the kernel and open the comm (before any student code)."""
        msg_id = self.client.execute(_OPEN, store_history=False, allow_stdin=False)
        if not self._wait_idle(msg_id, time.monotonic() + 120):
            raise KernelLost("the kernel did not start the grader's channel")
        message = self.client.session.msg(
            "comm_open", {"comm_id": self.comm_id, "target_name": COMM_TARGET, "data": {}}
        )
        self.client.shell_channel.send(message)
        if not self._wait_idle(message["header"]["msg_id"], time.monotonic() + 60):
            raise KernelLost("the kernel did not open the grader's channel")
        self.opened = True
        hello = self.request({"op": "hello"})
        self.device = hello.get("device", "cpu") if isinstance(hello, dict) else "cpu"

    def request(self, payload: dict, timeout: float | None = None, on_tensor=None) -> Any:
        """Send one request; the decoded value of the reply.

        Raises:
            AnswerError (or a subclass of the built-in it stands for), CheckFailed: the
                answer raised.
            AnswerTimeout: no reply in time (the kernel was interrupted).
            KernelLost: the kernel died or cannot be interrupted.
            wire.WireError: the reply was not plain data.
        """
        started = time.monotonic()
        text = json.dumps(payload)
        message = self.client.session.msg(
            "comm_msg", {"comm_id": self.comm_id, "data": {"request": text}}
        )
        self.client.shell_channel.send(message)
        msg_id = message["header"]["msg_id"]
        replies: list[str] = []
        received = [0]

        def on_message(msg) -> None:
            content = msg.get("content", {})
            received[0] += sum(len(str(v)) for v in content.values())
            if received[0] > self.max_reply_bytes:
                raise wire.WireError(f"the reply passed {self.max_reply_bytes >> 20} MiB")
            if msg["msg_type"] == "comm_msg":
                data = content.get("data", {})
                if isinstance(data, dict) and isinstance(data.get("reply"), str):
                    replies.append(data["reply"])

        limit = min(self.timeout if timeout is None else timeout, self.deadline - started)
        if limit <= 0:
            raise AnswerTimeout("the test's time was used up before this call")
        try:
            finished = self._wait_idle(msg_id, started + limit, on_message)
        except wire.WireError:
            self._interrupt(msg_id)
            raise
        self.requests += 1
        self.seconds += time.monotonic() - started
        if not finished:
            self._interrupt(msg_id)
            raise AnswerTimeout(f"no answer within {limit:g} s (the call was interrupted)")
        if len(replies) != 1:
            raise wire.WireError(f"expected one reply, got {len(replies)}")
        reply = json.loads(replies[0])
        if not isinstance(reply, dict):
            raise wire.WireError("a reply must be a JSON object")
        if not reply.get("ok"):
            raise _raised(reply.get("error") if isinstance(reply.get("error"), dict) else {})
        return wire.decode(reply.get("value"), on_tensor=on_tensor)

    def _interrupt(self, msg_id: str) -> None:
        self._sync(self.manager.interrupt_kernel)
        if not self._wait_idle(msg_id, time.monotonic() + 10):
            raise KernelLost("the kernel ignored the interrupt and was stopped")


class Remote:
    """An object that lives in the student's kernel, used here as if it were local.

    Calling it calls the object there; reading an attribute reads it there (plain data
    comes back as a value, anything else as another ``Remote``); iterating it lists it
    there. Nothing it returns can run code here.
    """

    __slots__ = ("_harness", "_handle", "_rule")

    def __init__(self, harness: Harness, handle: wire.Handle, rule=None) -> None:
        object.__setattr__(self, "_harness", harness)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_rule", rule)

    def __call__(self, *args, **kwargs):
        return self._harness.call(self, args, kwargs)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._harness.request(self, {"op": "getattr", "name": name})

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError("the grader does not change objects in your notebook")

    def __iter__(self):
        return iter(self._harness.request(self, {"op": "iter"}))

    def __repr__(self) -> str:
        return f"<{self._handle.type.rsplit('.', 1)[-1]} object of your notebook>"

    @property
    def kind(self) -> wire.Handle:
        return self._handle


class _Missing:
    """An answer the notebook never defined: any use fails with a plain message."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _fail(self, *args, **kwargs):
        from convbook.checks import CheckFailed

        raise CheckFailed(f"{self.name} is not defined in your notebook when this test runs "
                          "(did its cell run without an error?)")  # fmt: skip

    __call__ = __iter__ = _fail

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        self._fail()

    def __repr__(self) -> str:
        return f"<{self.name}: not defined>"


class RuledAnswer:
    """An answer with a rule (``forbid``/``only``/``arithmetic_only``): checked on its
    source, then run from exactly that source in a clean namespace of the kernel."""

    def __init__(self, harness: Harness, name: str, position: int) -> None:
        self.harness, self.name, self.position = harness, name, position
        self.spaces: dict[str, Remote] = {}  # checked code -> the answer run from it
        self.checked: dict[rules.Rule, str] = {}  # a rule -> the code that passed it

    def resolve(self, rule: rules.Rule | None) -> Remote:
        from convbook.checks import CheckFailed

        if rule is None:
            raise RuntimeError(
                f"grader error: {self.name} is called outside its rule in a test that has one"
            )
        rule = rules.Rule(rule.kind, rule.names, rule.hint, rule.what or self.name)
        if rule not in self.checked:
            try:
                code = self.harness.closure(self.name, self.position)
                rules.check(code, rule, self.harness.context_objects)
            except rules.RuleBroken as broken:
                raise CheckFailed(f"{self.name}: {broken}") from None
            self.checked[rule] = code.code()
        text = self.checked[rule]
        if text not in self.spaces:
            space = self.harness.channel.request(
                {"op": "clean", "context": self.harness.context_code, "code": text}
            )
            found = self.harness.channel.request(
                {"op": "lookup", "space": space, "names": [self.name]}
            )
            if self.name not in found or not isinstance(found[self.name], wire.Handle):
                raise CheckFailed(f"{self.name} is not a function in your notebook")
            self.spaces[text] = Remote(self.harness, found[self.name])
        return Remote(self.harness, self.spaces[text]._handle, rule)

    def __call__(self, *args, **kwargs):
        return self.harness.call(self.resolve(self.harness.rule()), args, kwargs)

    def __repr__(self) -> str:
        return f"<{self.name} of your notebook>"


class Harness:
    """Runs one notebook's test cells here, calling the answers in its kernel.

    Args:
        channel: the kernel's channel (opened).
        context_code: the assignment's locked import and constant cells, as Python.
        answers: the names the assignment's solution cells define.
        cells: plain Python of the submission's code cells, by index (for closures).
        labels: how messages name each cell, by index.
        salt: mixed into the seeds the tests set (``salted_seeds``); empty: none.
    """

    def __init__(
        self,
        channel: KernelChannel,
        context_code: str,
        answers: tuple[str, ...],
        cells: dict[int, str],
        labels: dict[int, str],
        salt: str = "",
    ) -> None:
        self.channel = channel
        self.context_code = context_code
        self.answers = answers
        self.cells, self.labels = cells, labels
        self.salt = salt
        self.context_objects = self._context()
        self.rules: list[rules.Rule] = []
        self.keys = itertools.count(1)
        self.failed_at: dict[str, list[int]] = {}  # grade_id -> lines of the test it failed at

    def _context(self) -> dict[str, Any]:
        namespace: dict[str, Any] = {"__builtins__": builtins, "__name__": "__grader__"}
        exec(compile(self.context_code, "<assignment imports>", "exec"), namespace)  # noqa: S102
        return namespace

    # -- what checks.py asks of the harness ------------------------------------------------

    def rule(self) -> rules.Rule | None:
        return self.rules[-1] if self.rules else None

    @contextlib.contextmanager
    def ruled(self, rule: rules.Rule):
        self.rules.append(rule)
        try:
            yield
        finally:
            self.rules.pop()

    def closure(self, name: str, position: int) -> answer_code.Closure:
        before = [(i, text) for i, text in sorted(self.cells.items()) if i < position]
        return answer_code.closure(name, before, self.context_objects, self.labels)

    def encode_arg(self, value: Any) -> Any:
        """Arguments for the kernel: data, Remote objects, and modules made with
        ``checks.build`` (sent as their recipe and weights)."""
        import torch

        if isinstance(value, Remote):
            return value._handle
        if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
            items = [self.encode_arg(item) for item in value]
            return items if type(value) is list else tuple(items)
        if isinstance(value, dict):
            return {key: self.encode_arg(item) for key, item in value.items()}
        if isinstance(value, torch.nn.Module):
            recipe = getattr(value, "_convbook_recipe", None)
            if recipe is None:
                raise TypeError("grader error: a module sent to the answer must be made "
                                "with convbook.checks.build")  # fmt: skip
            key = getattr(value, "_convbook_key", None)
            state = {}
            if key is None:
                key = next(self.keys)
                object.__setattr__(value, "_convbook_key", key)
                lazy = torch.nn.parameter.UninitializedTensorMixin
                named = [*value.named_parameters(), *value.named_buffers()]
                state = {n: t for n, t in named if not isinstance(t, lazy)}
            return wire.Make(key, recipe, state)
        return value

    def request(self, target: Remote, payload: dict, on_tensor=None) -> Any:
        payload = {**payload, "target": wire.encode(target._handle)}
        return self._wrap(self.channel.request(payload, on_tensor=on_tensor))

    def call(self, target: Remote, args, kwargs, *, device: bool = False, op: str = "call",
             extra: dict | None = None, devices: list | None = None) -> Any:  # fmt: skip
        rule = target._rule
        payload = {
            "op": op,
            "args": wire.encode(self.encode_arg(list(args))),
            "kwargs": wire.encode(self.encode_arg(dict(kwargs))),
            "device": device,
            "rule": rule.as_data() if rule is not None else None,
            **(extra or {}),
        }

        def keep(tensor, where):
            if devices is not None:
                devices.append((tensor, where))
            return tensor

        return self.request(target, payload, on_tensor=keep)

    def _wrap(self, value: Any) -> Any:
        if isinstance(value, wire.Handle):
            return Remote(self, value)
        if type(value) is list:
            return [self._wrap(v) for v in value]
        if type(value) is tuple:
            return tuple(self._wrap(v) for v in value)
        if type(value) is dict:
            return {k: self._wrap(v) for k, v in value.items()}
        return value

    # -- running a test cell -----------------------------------------------------------------

    def run_test(self, source: str, name: str, position: int, ruled: bool) -> list[dict]:
        """Run one test cell's code here; its outputs, as nbgrader scores them.

        Args:
            source: the test cell's code (from the instructor's source notebook).
            name: its grade_id (how tracebacks name it).
            position: its index in the submission (answers are taken as of there).
            ruled: run it with the answers' rule-checked code (before the student's cells).

        Returns:
            nbformat outputs: printed text, and an error output if the test failed.

        Raises:
            KernelLost: the kernel died or hangs; the notebook cannot go on.
        """
        from convbook import checks

        python = answer_code.python_of(source)
        tree = ast.parse(python)
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        wanted = [answer for answer in self.answers if answer in used]
        namespace = dict(self.context_objects)
        namespace["__name__"] = "__test__"
        printed = io.StringIO()
        outputs: list[dict] = []
        try:
            if ruled:
                for answer in wanted:
                    namespace[answer] = RuledAnswer(self, answer, position)
            elif wanted:
                found = self._wrap(self.channel.request({"op": "lookup", "names": wanted}))
                if not isinstance(found, dict):
                    raise wire.WireError("the kernel did not say what its answers are")
                for answer in wanted:
                    namespace[answer] = found[answer] if answer in found else _Missing(answer)
            with (
                checks.graded_by(self),
                salted_seeds(self.salt),
                contextlib.redirect_stdout(printed),
            ):
                exec(compile(tree, f"<test {name}>", "exec"), namespace)  # noqa: S102
        except KernelLost:
            raise
        except Exception as error:  # noqa: BLE001 - a failed test is an output, as in a kernel
            outputs.append(_error_output(error))
            self.failed_at[name] = [
                frame.lineno for frame in traceback.extract_tb(error.__traceback__)
                if frame.filename == f"<test {name}>"
            ]  # fmt: skip
        text = printed.getvalue()
        if text:
            outputs.insert(0, {"output_type": "stream", "name": "stdout",
                               "text": _cut(text, 20_000)})  # fmt: skip
        return outputs


@contextlib.contextmanager
def salted_seeds(salt: str):
    """While a test runs, the seeds it sets (``torch.manual_seed(751)``,
    ``random.Random(801)``, ``numpy.random.seed``) are mixed with ``salt``, so each
    submission is tested on inputs of its own, which no earlier run could have shown."""
    if not salt:
        yield
        return
    import random

    import numpy
    import torch

    def mixed(seed):
        if isinstance(seed, int) and not isinstance(seed, bool):
            return int(hashlib.sha256(f"{salt}:{seed}".encode()).hexdigest()[:15], 16)
        return seed

    class SaltedRandom(random.Random):
        def seed(self, a=None, version=2):
            super().seed(mixed(a), version)

    saved = torch.manual_seed, random.Random, numpy.random.seed
    torch.manual_seed = lambda seed: saved[0](mixed(seed))
    random.Random = SaltedRandom
    numpy.random.seed = lambda seed=None: saved[2](
        mixed(seed) % 2**32 if seed is not None else None
    )
    try:
        yield
    finally:
        torch.manual_seed, random.Random, numpy.random.seed = saved


def _cut(text: str, limit: int) -> str:
    return (
        text
        if len(text) <= limit
        else text[:limit] + f"\n[... {len(text) - limit} more characters cut]"
    )


def _error_output(error: BaseException) -> dict:
    """An error output naming what failed; never the test's own lines (they may be hidden)."""
    ename = type(error).__name__
    evalue = _cut(str(error), 4000)
    where = getattr(error, "where", "")
    if isinstance(error, AnswerError):
        evalue = f"your code raised {ename}" + (f": {evalue}" if evalue else "")
        if where:
            evalue += "\n" + _cut(where, 3000)
    if isinstance(error, wire.WireError):
        ename, evalue = "CheckFailed", f"the answer's result could not be read: {evalue}"
    return {"output_type": "error", "ename": ename, "evalue": evalue,
            "traceback": [f"{ename}: {evalue}"]}  # fmt: skip
