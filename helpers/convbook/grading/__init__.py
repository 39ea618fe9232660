"""Instructor grading: ``convbook grade`` autogrades submissions with nbgrader (issues 6, 12).

The pipeline, in the order ``app.grade_folder`` runs it:

1. **collect** (``collect``): find each student's notebooks (nbgrader layout, flat, zip);
2. **build the course** (``course``): a temporary nbgrader course from the solutions, with
   the settings the package ships (``nbgrader_config.py``);
3. **grade in parallel** (``pool`` -> ``worker``): each notebook in a worker process with its
   own namespaces; ``restore`` puts its graded cells back in order, ``execute`` runs the
   student's cells in a kernel jailed by ``sandbox`` (forked from the slot's ``zygote``,
   PyTorch already imported) and every test cell here, in the worker (``harness``): the
   kernel only answers calls (``server``) with plain data (``wire``); rules on how an answer
   is computed are checked on its source (``rules``);
4. **write outputs** (``gradebook``, ``report``, ``feedback``): the gradebook,
   ``grades.csv`` and the feedback pages.

``records`` holds the records passed between the steps; ``policy`` every limit.
"""

import sys

# jsonschema (imported by nbformat) builds the IRI grammar of the optional rfc3987-syntax
# package with lark when it is imported: 3.5 s of CPU in every grading process, for a
# string format no notebook schema uses. Marking it absent makes jsonschema skip it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
