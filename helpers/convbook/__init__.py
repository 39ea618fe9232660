"""convbook: the helpers behind the CNN chapters (d2l 7.1-8.6) of the course book.

The names below are loaded on first use (PEP 562), so ``import convbook`` itself is cheap:
``convbook grade`` and its workers never import PyTorch or matplotlib, and a notebook pays
for what it uses.
"""

import importlib

# public name -> the module that defines it
_LAZY = {
    "Budget": "convbook.budget",
    "current_budget": "convbook.budget",
    "Digits": "convbook.data",
    "FashionMNIST": "convbook.data",
    "cpu": "convbook.device",
    "num_gpus": "convbook.device",
    "try_all_gpus": "convbook.device",
    "try_gpu": "convbook.device",
    "Classifier": "convbook.models",
    "LeNet": "convbook.models",
    "init_cnn": "convbook.models",
    "layer_summary": "convbook.models",
    "History": "convbook.train",
    "Trainer": "convbook.train",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'convbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
