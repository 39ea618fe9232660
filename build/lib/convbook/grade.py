"""``python -m convbook.grade SUBMISSIONS --out OUT``: the same as ``convbook grade``."""

import sys

from convbook.grading.app import main

if __name__ == "__main__":
    sys.exit(main())
