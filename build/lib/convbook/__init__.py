"""convbook: the helpers behind the CNN chapters (d2l 7.1-8.6) of the course book."""

from convbook.budget import Budget, current_budget
from convbook.data import Digits, FashionMNIST
from convbook.device import cpu, num_gpus, try_all_gpus, try_gpu
from convbook.models import Classifier, LeNet, init_cnn, layer_summary
from convbook.train import History, Trainer

__all__ = [
    "Budget",
    "Classifier",
    "Digits",
    "FashionMNIST",
    "History",
    "LeNet",
    "Trainer",
    "cpu",
    "current_budget",
    "init_cnn",
    "layer_summary",
    "num_gpus",
    "try_all_gpus",
    "try_gpu",
]
