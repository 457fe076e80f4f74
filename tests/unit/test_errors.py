import numpy as np

from har.errors import DataValidationError, Issue, IssueCollector


def test_collector_names_the_first_masked_row_as_a_line_and_counts_the_rest():
    out = IssueCollector("r1", "acc.csv")
    out.error("bad", column="x", mask=np.array([False, False, True, False, True, True]))
    out.warning("jump", column="t", mask=np.array([False, True, False]), offset=1)  # a mask over np.diff
    out.error("file-level")
    first, second, third = out.issues
    assert (first.recording, first.file, first.column, first.row, first.more_rows) == ("r1", "acc.csv", "x", 4, 2)
    assert (second.severity, second.row, second.more_rows) == ("warning", 4, 0)
    assert third.row is None and third.more_rows == 0
    assert out.n_errors == 2 and out.errors() == [first, third] and out.warnings() == [second]


def test_collector_over_several_recordings_finds_the_recording_of_the_row():
    recordings = np.array(["a", "a", "b", "b"])
    out = IssueCollector(file="sensor_data", recording_at=lambda position: str(recordings[position]))
    out.error("nan", mask=np.array([False, False, False, True]))
    out.error("given", recording="x", mask=np.array([True, False, False, False]))
    assert [(i.recording, i.row) for i in out.issues] == [("b", 5), ("x", 2)]


def test_collected_issues_format_as_before():
    out = IssueCollector("r", "f.csv")
    out.warning("odd", column="x", row=3, more_rows=1)
    assert str(out.issues[0]) == "warning: recording 'r', file f.csv, column 'x', line 3 (and 1 more row): odd"
    assert str(DataValidationError([Issue.error("a")])) == "1 problem(s) in the input data:\n  - a"
