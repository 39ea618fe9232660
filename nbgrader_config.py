"""nbgrader settings for running nbgrader in this repository (``tools/release.py``).

The settings themselves ship with the package, so ``convbook grade`` finds them in any
install: ``helpers/convbook/grading/nbgrader_config.py``.
"""

from convbook.grading.course import CONFIG_FILE

load_subconfig(str(CONFIG_FILE))  # noqa: F821 (nbgrader provides load_subconfig)
