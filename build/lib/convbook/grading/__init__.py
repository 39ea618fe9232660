"""Instructor grading: ``convbook grade`` autogrades submissions with nbgrader (issue 6).

Split by role, like nbgrader: ``collect`` finds submissions, ``course`` builds the nbgrader
course, ``restore`` and ``tamper`` prepare and check a notebook, ``execute`` and ``sandbox``
run it safely, ``worker`` grades one notebook, ``gradebook`` and ``report`` write the
results, ``app`` is the command.
"""
