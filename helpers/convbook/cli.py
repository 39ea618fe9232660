"""The ``convbook`` command line (``convbook grade ...``)."""

from __future__ import annotations

import argparse
import sys

from convbook.extras import MissingExtraError, require

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``convbook`` console script.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` when None.

    Returns:
        The exit status.
    """
    import convbook.grading  # noqa: F401  (first: it keeps nbformat's import cheap)

    try:  # the grading extra: say what to install rather than fail on an import
        for module in ("nbformat", "nbclient", "nbgrader"):
            require(module, "convbook grade")
    except MissingExtraError as exc:
        print(f"convbook: {exc}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="convbook", description="Course helpers for convbook.")
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="autograde a folder of student submissions")
    from .grading.app import build_parser, run

    build_parser(grade)
    from .grading import formgrade

    formgrade.build_parser(
        commands.add_parser("formgrade", help="grade written answers in nbgrader's formgrader")
    )
    from .grading import export

    export.build_parser(
        commands.add_parser("export", help="write the gradebook's scores for Canvas or Moodle")
    )
    args = parser.parse_args(argv)
    if args.command == "export":
        return export.run(args)
    if args.command == "formgrade":
        return formgrade.run(args)
    if args.command == "grade":
        return run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
