"""grades.csv and the summary table."""

from convbook.grading.report import Row, summary_table, write_csv


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
        'al,toy,toy,0,3,missing,"no, really",0,0,',
        "bob,toy,toy,1.5,3,graded,,0,0,",
    ]


def test_summary_counts_statuses():
    table = summary_table([Row("a", "t", "t", 3, 3, "graded"), Row("b", "t", "t", 0, 3, "timeout")])
    assert table.splitlines()[-1] == "graded: 1, timeout: 1"
    assert "3/3" in table
