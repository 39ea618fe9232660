"""What a reader sees: the outputs committed with the chapters (issue 11).

These tests read the notebooks as they are in the repository, without running anything.
Every training run a page shows must have learned (val acc >= 0.70 on the 400 held-out
images) at the `cpu` budget in at most five minutes; no page may show a traceback or a
warning; and the runs saved for section 8.6's comparison must be the ones the pages show.
"""

from pathlib import Path

import nbformat
import pytest

from convbook.budget import BUDGETS
from convbook.models.zoo import CPU_RECIPES, D2L_ZOO, recipe
from convbook.notebooks import training_results
from convbook.train import RESULTS_DIR, load_histories

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
MIN_VAL_ACC = 0.70
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
    runs = training_results(nbformat.read(path, as_version=4))
    for run in runs:
        what = f"{path.name}: {run['model']}"
        assert run["budget"] == "cpu", f"{what} ran at the {run['budget']} budget"
        assert run["val_acc"] >= MIN_VAL_ACC, f"{what} ends at val acc {run['val_acc']}"
        assert run["seconds"] <= MAX_SECONDS, f"{what} took {run['seconds']} s"


def test_the_pages_train_every_network_of_the_zoo_and_the_best_reaches_080():
    shown = {p.stem: training_results(nbformat.read(p, as_version=4)) for p in CHAPTERS}
    for name, page in SAVED_ON.items():
        assert shown[page], f"{page} shows no training run (for {name})"
    best = max(run["val_acc"] for runs in shown.values() for run in runs)
    assert best >= 0.80, f"the best run ends at {best}"


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
    # ... and the run followed the recipe the zoo gives now
    want = recipe(name, BUDGETS["cpu"])
    assert saved.settings["lr"] == want.lr and saved.settings["width"] == want.width
    assert saved.settings["batch_size"] == want.batch_size
    assert saved.settings["image_size"] == [want.image_size, want.image_size]
    assert len(saved.val_acc) == want.epochs(saved.settings["train_size"])


def test_the_cpu_recipes_cover_the_zoo():
    assert set(CPU_RECIPES) == set(D2L_ZOO)
