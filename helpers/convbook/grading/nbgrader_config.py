"""nbgrader settings for the course (nbgrader 0.9).

Every section is one assignment named by its slug, with one notebook of the same name:
``solutions/<slug>/<slug>.ipynb`` is the instructor source and
``exercises/<slug>/<slug>.ipynb`` the student release that
``python tools/release.py`` (``nbgrader generate_assignment <slug> --force --no-db``)
writes. ``convbook grade`` copies this file into the temporary courses it grades in; the
repository's own ``nbgrader_config.py`` loads it.
"""

c = get_config()  # noqa: F821 (nbgrader provides get_config when it loads this file)

c.CourseDirectory.course_id = "convbook"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Only the notebook goes into a release; solutions/ may hold nothing else we want shipped.
c.CourseDirectory.include = ["*.ipynb"]

# Students delete cells: put every test cell back from the source before grading.
c.OverwriteCells.add_missing_cells = True

# nbgrader scores a test cell 0 when it writes anything to stderr, and PyTorch and Python
# write their warnings there. Drop stderr outputs that are warnings (the
# "file.py:12: UserWarning: ..." lines) before the grades are computed.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\w*Warning: "

# Time limits: the same as ``convbook grade``'s (convbook.grading.policy). A cell that
# takes longer is stopped and scores 0.
from convbook.grading import policy  # noqa: E402

c.Execute.timeout = policy.CELL_TIMEOUT_S
c.Execute.startup_timeout = policy.SETUP_TIMEOUT_S
c.Execute.interrupt_on_timeout = True
c.Execute.iopub_timeout = 10

# Keep a runaway print loop from bloating the autograded notebook and the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
