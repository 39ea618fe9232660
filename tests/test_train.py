import pytest
import torch
from torch import nn

from convbook import Digits, LeNet, Trainer
from convbook.budget import BUDGETS, Budget
from convbook.models import Classifier
from convbook.train import SUMMARY_PATTERN, History, load_histories

LEARN = Budget(
    "test", max_epochs=None, max_train_batches=None, max_val_batches=None, max_image_size=None
)


class SmallCNN(Classifier):
    """ReLU + max-pooling CNN; learns Digits in a few epochs."""

    def __init__(self, lr: float = 0.1) -> None:
        super().__init__()
        self.lr = lr
        self.net = nn.Sequential(
            nn.LazyConv2d(8, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.LazyConv2d(16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.LazyLinear(10),
        )


@pytest.fixture(scope="module")
def digits():
    return Digits(batch_size=64, resize=16)


def test_d2l_classifier_subclass_really_learns_digits(digits):
    d2l = pytest.importorskip("d2l.torch")

    class D2LNet(d2l.Classifier):  # written the way the book writes its models
        def __init__(self, lr=0.1):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(
                nn.LazyConv2d(8, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.LazyLinear(10),
            )

    history = Trainer(max_epochs=4, budget=LEARN, plot=False).fit(D2LNet(lr=0.2), digits)
    assert history.final["val_acc"] > 0.85  # chance is 0.10
    assert history.train_loss[-1] < history.train_loss[0]


def test_history_records_every_epoch_and_says_what_it_ran_on(digits, capsys):
    history = Trainer(max_epochs=3, budget=LEARN).fit(SmallCNN(), digits)
    assert len(history.train_loss) == len(history.val_loss) == len(history.val_acc) == 3
    out = capsys.readouterr().out
    assert "Training SmallCNN on cpu for 3 epochs" in out
    assert "SmallCNN: 3 epochs (test budget, 3 asked) on cpu, Digits" in out
    assert f"val acc {history.final['val_acc']:.3f}" in out
    assert history.device == "cpu" and history.data.startswith("Digits")
    assert len(history.train_acc) == 3 and 0 <= history.final["train_acc"] <= 1
    assert history.settings == {
        "lr": 0.1,
        "batch_size": 64,
        "train_size": digits.num_train,
        "image_size": [16, 16],
        "width": 1.0,
        "steps_per_epoch": len(digits.train_dataloader()),
        "steps": 3 * len(digits.train_dataloader()),
    }


def test_a_saved_run_reads_back_whole_under_its_budget_and_name(digits, tmp_path):
    history = Trainer(max_epochs=2, budget=LEARN, plot=False).fit(SmallCNN(), digits)
    path = history.save("small", tmp_path)
    assert path == tmp_path / "test" / "small.json"
    assert load_histories("test", tmp_path) == {"small": history}
    assert load_histories("cpu", tmp_path) == {}
    (tmp_path / "test" / "broken.json").write_text('{"model": "x"}')
    with pytest.raises(ValueError, match="broken.json: not a saved training run"):
        load_histories("test", tmp_path)


def test_budget_caps_epochs_and_batches(digits, monkeypatch):
    seen = []
    model = SmallCNN()
    model.register_forward_hook(lambda m, i, o: seen.append((m.training, len(o))))
    smoke = BUDGETS["smoke"]
    history = Trainer(max_epochs=10, budget=smoke, plot=False).fit(model, digits)
    assert len(history.train_loss) == smoke.max_epochs
    train_calls = sum(1 for training, _ in seen if training)
    val_calls = sum(1 for training, _ in seen if not training) - 1  # -1: the lazy-shape pass
    assert train_calls == smoke.max_epochs * smoke.max_train_batches
    assert val_calls == smoke.max_epochs * smoke.max_val_batches


def test_fit_is_seeded(digits):
    runs = [
        Trainer(max_epochs=1, budget=BUDGETS["smoke"], plot=False).fit(LeNet(), digits)
        for _ in range(2)
    ]
    assert runs[0].train_loss == runs[1].train_loss


def test_wrong_output_shape_is_a_clear_error(digits):
    class FiveClasses(SmallCNN):
        def __init__(self):
            super().__init__()
            self.net[-1] = nn.LazyLinear(5)

    with pytest.raises(ValueError, match="5 classes but a label is 9"):
        Trainer(max_epochs=1, plot=False).fit(FiveClasses(), digits)

    class Flat(SmallCNN):
        def forward(self, x):
            return super().forward(x).flatten()

    with pytest.raises(ValueError, match=r"model output has shape \(640,\).*\(64,\)"):
        Trainer(max_epochs=1, plot=False).fit(Flat(), digits)


def test_gradient_clipping_bounds_the_update(digits):
    torch.manual_seed(0)
    model = SmallCNN(lr=1.0)
    model.apply_init([torch.zeros(1, 1, 16, 16)])
    before = [p.detach().clone() for p in model.parameters()]
    Trainer(
        max_epochs=1, gradient_clip_val=0.01, budget=Budget("one", 1, 1, 1, None), plot=False
    ).fit(model, digits)
    step = torch.cat(
        [(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)]
    )
    assert step.norm() <= 0.01 * 1.0 + 1e-6  # lr * clip value


def test_max_epochs_must_be_positive():
    with pytest.raises(ValueError, match="max_epochs must be >= 1"):
        Trainer(max_epochs=0)


def test_num_gpus_falls_back_to_cpu_without_accelerator(monkeypatch):
    monkeypatch.setattr("convbook.train.available_gpus", lambda: 0)
    assert Trainer(max_epochs=1, num_gpus=1).device == torch.device("cpu")


def test_recent_val_acc_is_the_mean_and_range_of_the_last_10_epochs_and_the_summary_says_so():
    history = History("LeNet", "Fashion-MNIST: sample; 1,600 / 400", "cpu", "cpu", 12)
    history.val_acc = [0.1, 0.2] + [0.70, 0.80] * 5  # one epoch's value swings by 10 points
    history.train_acc = history.train_loss = history.val_loss = [0.5] * 12
    spread = history.recent_val_acc()
    assert spread.epochs == 10 and spread.low == 0.70 and spread.high == 0.80
    assert spread.mean == pytest.approx(0.75)
    assert history.recent_val_acc(3).mean == pytest.approx((0.7 + 0.8 + 0.8) / 3)
    match = SUMMARY_PATTERN.search(history.summary())
    assert match["val_acc"] == "0.800" and match["recent"] == "10"
    assert (match["val_mean"], match["val_min"], match["val_max"]) == ("0.750", "0.700", "0.800")
    with pytest.raises(ValueError, match="finished epoch"):
        History("LeNet", "data", "cpu", "cpu", 1).recent_val_acc()


def test_two_runs_differ_beyond_the_spread_only_when_their_ranges_do_not_overlap():
    def spread(values):
        run = History("m", "d", "cpu", "cpu", len(values))
        run.val_acc = values
        return run.recent_val_acc()

    steady, noisy, worse = spread([0.80] * 10), spread([0.70, 0.84] * 5), spread([0.60] * 10)
    assert steady.overlaps(noisy) and noisy.overlaps(steady)
    assert not steady.overlaps(worse) and not worse.overlaps(noisy)
