"""grades.csv, the summary table and feedback pages."""

from convbook.grading.report import Row, summary_table, write_csv, write_feedback


def test_csv_is_sorted_and_formats_scores_stably(tmp_path):
    rows = [
        Row("bob", "toy", "toy", 1.5, 3, "graded"),
        Row("al", "toy", "toy", 0, 3, "missing", "no, really"),
    ]
    write_csv(rows, tmp_path / "a.csv")
    write_csv(rows[::-1], tmp_path / "b.csv")
    text = (tmp_path / "a.csv").read_text()
    assert text == (tmp_path / "b.csv").read_text()
    assert text.splitlines()[1:] == [
        'al,toy,toy,0,3,missing,"no, really"',
        "bob,toy,toy,1.5,3,graded,",
    ]


def test_summary_counts_statuses():
    table = summary_table([Row("a", "t", "t", 3, 3, "graded"), Row("b", "t", "t", 0, 3, "timeout")])
    assert table.splitlines()[-1] == "graded: 1, timeout: 1"
    assert "3/3" in table


def test_feedback_without_a_run_explains_the_status(tmp_path):
    target = tmp_path / "fb" / "a.html"
    write_feedback(Row("a", "t", "t", 0, 3, "unreadable", "not JSON <x>"), None, target)
    assert "not JSON &lt;x&gt;" in target.read_text()


def test_feedback_of_a_failed_run_gets_a_banner(tmp_path):
    page = tmp_path / "nbgrader.html"
    page.write_text("<html><body><p>cells</p></body></html>")
    write_feedback(
        Row("a", "t", "t", 2, 3, "timeout", "cell 'x' timed out"), page, tmp_path / "out.html"
    )
    text = (tmp_path / "out.html").read_text()
    assert text.index("Grading status: timeout") < text.index("cells")
