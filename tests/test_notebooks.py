"""convbook.notebooks: execute a notebook as a reader does and report what it gave."""

import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from convbook.notebooks import execute, first_answer_cell, training_results
from convbook.train import History


def _write(tmp_path, cells):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _answer(source):
    return new_code_cell(source, metadata={"nbgrader": {"solution": True, "grade_id": "a"}})


def test_training_results_reads_back_what_history_summary_prints():
    history = History("LeNet", "Fashion-MNIST: sample; 1,600 / 400", "cpu", "cpu", 10)
    history.train_loss, history.val_loss, history.val_acc = [2.3, 0.5], [2.3, 0.6], [0.1, 0.745]
    history.train_acc = [0.1, 0.81]
    history.seconds = 61.25
    nb = new_notebook(cells=[new_code_cell("fit()")])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text=history.summary() + "\n")]
    [result] = training_results(nb)
    assert result["model"] == "LeNet" and result["epochs"] == 2 and result["budget"] == "cpu"
    assert result["val_acc"] == 0.745 and result["seconds"] == 61.2 and result["device"] == "cpu"


def test_execute_runs_every_cell_in_the_notebooks_folder_and_can_save(tmp_path):
    (tmp_path / "data.txt").write_text("42")
    path = _write(tmp_path, [new_code_cell("x = open('data.txt').read()"), new_code_cell("x")])
    run = execute(path, write=True)
    assert run.ok and run.cells_run == 2
    saved = nbformat.read(path, as_version=4)
    assert saved.cells[1].outputs[0]["data"]["text/plain"] == "'42'"


def test_a_failing_cell_is_reported_by_number_and_nothing_is_saved(tmp_path):
    cells = [new_markdown_cell("# t"), new_code_cell("1"), new_code_cell("import no_such_module")]
    path = _write(tmp_path, cells)
    before = path.read_text()
    run = execute(path, write=True)
    assert run.error == "code cell 1: ModuleNotFoundError: No module named 'no_such_module'"
    assert path.read_text() == before


def test_until_answer_stops_before_the_first_answer_cell(tmp_path):
    cells = [new_code_cell("a = 1"), _answer("raise NotImplementedError()"), new_code_cell("a")]
    path = _write(tmp_path, cells)
    assert first_answer_cell(nbformat.read(path, as_version=4)) == 1
    run = execute(path, until_answer=True)
    assert run.ok and run.cells_run == 1


def test_the_kernel_gets_env_and_an_inline_backend_and_the_caller_keeps_its_own(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as the Makefile exports it for the tests
    source = "import os, matplotlib; os.environ['CONVBOOK_BUDGET'], matplotlib.get_backend()"
    path = _write(tmp_path, [new_code_cell(source)])
    assert execute(path, write=True, env={"CONVBOOK_BUDGET": "full"}).ok
    [output] = nbformat.read(path, as_version=4).cells[0].outputs
    assert output["data"]["text/plain"].startswith("('full', 'module://matplotlib_inline")
    assert os.environ["MPLBACKEND"] == "Agg"
