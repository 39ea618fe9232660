"""What a reader sees: the outputs committed with the chapters (issues 11 and 24).

These tests read the notebooks as they are in the repository, without running anything.
Every training run a page shows must have learned at the `cpu` budget in at most five
minutes: its validation accuracy on the 400 held-out images, averaged over the last 10
epochs (one epoch's value swings by up to 15 points), is at least 0.70, and at least 0.80
for the best network. No page may show a traceback or a warning; the runs saved for
section 8.6's comparison must be the ones the pages show, and 8.6 and the introduction
must report their averages.
"""

from pathlib import Path

import nbformat
import pytest

from convbook.budget import BUDGETS
from convbook.models.zoo import CPU_RECIPES, D2L_ZOO, recipe
from convbook.notebooks import training_results
from convbook.train import RECENT_EPOCHS, RESULTS_DIR, load_histories

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
MIN_VAL_ACC = 0.70  # mean over the last 10 epochs, for every run
BEST_VAL_ACC = 0.80  # the same, for the best network
MAX_SECONDS = 300
# The saved name of each zoo model's run and the page whose outputs show it.
SAVED_ON = {
    "LeNet": "7_6_lenet",
    "AlexNet": "8_1_alexnet",
    "VGG": "8_2_vgg",
    "NiN": "8_3_nin",
    "GoogLeNet": "8_4_googlenet",
    "BN-LeNet": "8_5_batch_norm",
    "ResNet-18": "8_6_resnet",
    "WideLeNet": "7_6_lenet",  # the course notes' wider LeNet, not one of d2l's networks
}


def _outputs(nb):
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            yield index, output


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_page_shows_a_traceback_or_a_warning(path):
    nb = nbformat.read(path, as_version=4)
    for index, output in _outputs(nb):
        where = f"{path.name} cell {index}"
        assert output.get("output_type") != "error", f"{where} shows an error"
        text = output.get("text", "") if output.get("output_type") == "stream" else ""
        assert output.get("name") != "stderr", f"{where} shows stderr: {text[:200]!r}"
        assert "Traceback" not in text and "Warning" not in text, f"{where}: {text[:200]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_training_run_a_page_shows_learned_at_the_cpu_budget(path):
    nb = nbformat.read(path, as_version=4)
    runs = training_results(nb)
    printed = [line for _, output in _outputs(nb) for line in output.get("text", "").splitlines()
               if " epochs (" in line and " budget, " in line]  # fmt: skip
    assert len(printed) == len(runs), f"{path.name}: a summary without the last epochs' mean"
    for run in runs:
        what = f"{path.name}: {run['model']}"
        assert run["budget"] == "cpu", f"{what} ran at the {run['budget']} budget"
        assert int(run["recent"]) == RECENT_EPOCHS, f"{what}: averaged over {run['recent']}"
        mean, low, high = (float(run[key]) for key in ("val_mean", "val_min", "val_max"))
        assert mean >= MIN_VAL_ACC, f"{what}: last {RECENT_EPOCHS} epochs' mean val acc {mean}"
        assert low <= run["val_acc"] <= high and low <= mean <= high
        assert run["seconds"] <= MAX_SECONDS, f"{what} took {run['seconds']} s"


def test_the_pages_train_every_network_and_the_best_averages_080():
    shown = {p.stem: training_results(nbformat.read(p, as_version=4)) for p in CHAPTERS}
    for name, page in SAVED_ON.items():
        assert shown[page], f"{page} shows no training run (for {name})"
    best = max(float(run["val_mean"]) for runs in shown.values() for run in runs)
    assert best >= BEST_VAL_ACC, f"the best run averages {best} over its last epochs"


@pytest.mark.parametrize("name", list(SAVED_ON))
def test_the_saved_run_is_the_one_its_page_shows(name):
    saved = load_histories("cpu")[name]
    assert (RESULTS_DIR / "cpu" / f"{name}.json").is_file()
    page = ROOT / "chapters" / f"{SAVED_ON[name]}.ipynb"
    summaries = [
        line
        for index, output in _outputs(nbformat.read(page, as_version=4))
        for line in output.get("text", "").splitlines()
    ]
    assert saved.summary() in summaries, f"{page.name} does not show the run saved as {name}"
    spread = saved.recent_val_acc()
    assert spread.epochs == RECENT_EPOCHS and spread.mean >= MIN_VAL_ACC
    if name not in CPU_RECIPES:
        return
    # ... and the run followed the recipe the zoo gives now
    want = recipe(name, BUDGETS["cpu"])
    assert saved.settings["lr"] == want.lr and saved.settings["width"] == want.width
    assert saved.settings["batch_size"] == want.batch_size
    assert saved.settings["image_size"] == [want.image_size, want.image_size]
    assert len(saved.val_acc) == want.epochs(saved.settings["train_size"])


def test_the_cpu_recipes_cover_the_zoo():
    assert set(CPU_RECIPES) == set(D2L_ZOO)


def test_section_8_6_reports_each_network_s_mean_and_range_over_its_last_epochs():
    nb = nbformat.read(ROOT / "chapters" / "8_6_resnet.ipynb", as_version=4)
    text = "\n".join(output.get("text", "") for _, output in _outputs(nb))
    runs = load_histories("cpu")
    for name in D2L_ZOO:
        spread = runs[name].recent_val_acc()
        row = f"{spread.mean:.3f}{spread.low:>7.3f}-{spread.high:.3f}"
        assert any(line.startswith(name) and row in line for line in text.splitlines()), name
    assert "within the spread" in text or "beyond the spread" in text


def test_the_introduction_gives_the_range_of_the_networks_averages():
    means = [run.recent_val_acc().mean for name, run in load_histories("cpu").items()
             if name in D2L_ZOO]  # fmt: skip
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    assert f"{min(means):.2f}" in intro and f"{max(means):.2f}" in intro
