"""``convbook formgrade OUT``: nbgrader's formgrader on a graded OUT (issue 22).

``convbook grade`` leaves no nbgrader course an instructor could open: its notebooks are in
``OUT/autograded``, its source in the private template course ``OUT/.convbook/course``.
This command lays OUT out as a course in ``OUT/.convbook/formgrader`` (links, never
copies: ``source`` is the template course's solutions, ``autograded`` and ``submitted``
are ``OUT/autograded``; nothing ``convbook grade`` writes moves) and serves nbgrader's
formgrader, and nothing else, on it with a Jupyter server:

- only this module is loaded as a server extension; it loads formgrader, and Jupyter's own
  APIs (contents, kernels, sessions) refuse every request (``FormgraderOnly``);
- what would bypass ``convbook grade`` or overwrite its outputs (generate, release,
  collect, autograde, generate or release feedback, add or edit an assignment) is
  refused by the server and left out of the pages (``templates/convbook_formgrade``);
- the exchange is never looked for (``NoExchangeList``);
- the grading page typesets math with the website's MathJax bundle, served at
  ``/convbook/mathjax/``, so it works offline.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
from pathlib import Path

from jupyter_server.auth.authorizer import Authorizer
from nbgrader.exchange.abc import ExchangeError, ExchangeList

from .feedback import mathjax_bundle
from .gradebook import gradebook_url, safe_url

__all__ = ["FormgraderOnly", "NoExchangeList", "build_parser", "course_view", "run", "serve"]

TEMPLATES = Path(__file__).parent / "templates" / "convbook_formgrade"
MATHJAX_ROUTE = "convbook/mathjax"  # under the server's base URL; see mathjax.html.j2
COURSE_ID = "convbook"
REFUSED = (
    "convbook formgrade is for manual grading only: grading, feedback and assignments "
    "are made by `convbook grade`"
)
# Course folder -> what it links to, relative to OUT/.convbook/formgrader. ``submitted``
# is the autograded folder too: formgrader counts a folder there as a submission.
LINKS = {
    "source": "../course/solutions",
    "autograded": "../../autograded",
    "submitted": "../../autograded",
}
# Every formgrader API route that would regrade, release, collect or write feedback.
_REFUSED_ROUTES = [
    r"/formgrader/api/assignment/[^/]+/(?:assign|unrelease|release|collect)",
    r"/formgrader/api/assignment/[^/]+/(?:generate_feedback|release_feedback)",
    r"/formgrader/api/assignment/[^/]+/[^/]+/(?:generate_feedback|release_feedback)",
    r"/formgrader/api/submission/[^/]+/[^/]+/autograde",
]


class NotGradedError(ValueError):
    """OUT has no gradebook or no course: ``convbook grade`` has not run on it."""


def course_view(out: Path, db_url: str) -> Path:
    """Present OUT as an nbgrader course in ``OUT/.convbook/formgrader``.

    Args:
        out: a folder ``convbook grade`` wrote.
        db_url: its gradebook (``gradebook_url``).

    Returns:
        The course root, with its ``nbgrader_config.py`` (readable by its owner only: it
        holds the gradebook's URL).

    Raises:
        NotGradedError: if OUT has no template course or no SQLite gradebook file.
    """
    out = Path(out).resolve()
    state = out / ".convbook"
    if not (state / "course" / "solutions").is_dir():
        raise NotGradedError(
            f"{out} has not been graded: run `convbook grade SUBMISSIONS --out {out}`"
        )
    if db_url.startswith("sqlite:///") and not Path(db_url[len("sqlite:///") :]).is_file():
        raise NotGradedError(
            f"{out} has no gradebook ({db_url[len('sqlite:///') :]}): run "
            f"`convbook grade SUBMISSIONS --out {out}` first"
        )
    root = state / "formgrader"
    root.mkdir(mode=0o700, exist_ok=True)
    for name, target in LINKS.items():
        link = root / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target, target_is_directory=True)
    config = root / "nbgrader_config.py"
    config.touch(mode=0o600)
    config.chmod(0o600)
    config.write_text(_config_text(root, db_url))
    return root


def _config_text(root: Path, db_url: str) -> str:
    settings = {
        "CourseDirectory.course_id": COURSE_ID,
        "CourseDirectory.root": str(root),
        "CourseDirectory.db_url": db_url,
        "CourseDirectory.source_directory": "source",
        "CourseDirectory.submitted_directory": "submitted",
        "CourseDirectory.autograded_directory": "autograded",
        # Folders that do not exist: nothing to preview, release or hand back here.
        "CourseDirectory.release_directory": "release",
        "CourseDirectory.feedback_directory": "feedback",
        "ExchangeFactory.list": f"{__name__}.NoExchangeList",
        "FormgradeExtension.debug": False,  # its panel would show the gradebook's URL
    }
    lines = ['"""Written by `convbook formgrade` at each start: edits are lost."""', ""]
    lines.append("c = get_config()  # noqa: F821")
    lines.extend(f"c.{key} = {value!r}" for key, value in settings.items())
    return "\n".join(lines) + "\n"


class NoExchangeList(ExchangeList):
    """An exchange that is never there: formgrader shows no release or collect, and no
    exchange directory is looked for or created (``convbook grade`` collects)."""

    def start(self):
        """Fail as a missing exchange does."""
        raise ExchangeError("convbook formgrade uses no exchange")


class FormgraderOnly(Authorizer):
    """Refuses every Jupyter API (contents, kernels, sessions, ...): the server is there
    for formgrader, whose handlers do not ask the authorizer."""

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        """Always False."""
        return False


def _refused_handlers() -> list[tuple]:
    from nbgrader.server_extensions.formgrader import apihandlers
    from tornado import web

    def refuse(handler: web.RequestHandler) -> None:
        # Not an HTTPError: tornado would log the request's URL, token included.
        handler.set_status(403)
        handler.finish({"message": REFUSED})

    class Refused(apihandlers.BaseApiHandler):
        """Answers 403 with ``REFUSED``."""

        def prepare(self):
            refuse(self)

    class AssignmentHandler(apihandlers.AssignmentHandler):
        """Reads an assignment; creating or editing one is refused."""

        def put(self, assignment_id: str):
            refuse(self)

    return [(route, Refused) for route in _REFUSED_ROUTES] + [
        (r"/formgrader/api/assignment/([^/]+)", AssignmentHandler)
    ]


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Load formgrader behind the refusals, with the course's templates and MathJax."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader
    from jupyter_server.utils import url_path_join
    from nbconvert import HTMLExporter
    from nbgrader.server_extensions.formgrader import formgrader, handlers
    from tornado import web
    from traitlets.config import Config

    webapp = serverapp.web_app
    base_url = webapp.settings["base_url"]
    rules = _refused_handlers()
    bundle = mathjax_bundle()
    if bundle is not None:
        rules.append((f"/{MATHJAX_ROUTE}/(.*)", web.StaticFileHandler, {"path": str(bundle)}))
    else:
        serverapp.log.warning(
            "sphinx-mathjax-offline is not installed, so math shows as LaTeX"
            ' (pip install "convbook[grading]")'
        )
    # Added before formgrader's own handlers, so these win for the same URL.
    webapp.add_handlers(".*$", [(url_path_join(base_url, r[0]), *r[1:]) for r in rules])
    formgrader.load_jupyter_server_extension(serverapp)

    nbgrader_templates = FileSystemLoader(handlers.template_path)
    webapp.settings["nbgrader_jinja2_env"] = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(str(TEMPLATES)),  # pages changed by the course...
                PrefixLoader({"nbgrader": nbgrader_templates}),  # ...extend these
                nbgrader_templates,
            ]
        )
    )
    config = Config()
    config.HTMLExporter.template_name = TEMPLATES.name
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES.parent), handlers.template_path]
    config.HTMLExporter.extra_template_paths = [handlers.template_path]
    webapp.settings["nbgrader_exporter"] = HTMLExporter(config=config)


def _server_class():
    from jupyter_server.serverapp import ServerApp

    class FormgradeServer(ServerApp):
        """A Jupyter server that reads no config file: only what ``serve`` sets counts."""

        def load_config_file(self, *args, **kwargs) -> None:
            """Read nothing (a user's jupyter_server_config could enable extensions)."""

    return FormgradeServer


def serve(out: Path, port: int, ip: str = "127.0.0.1", db: str | None = None) -> int:
    """Serve formgrader on OUT until SIGINT or SIGTERM; print its URL on one line.

    Args:
        out: a folder ``convbook grade`` wrote.
        port: the TCP port (no other is tried).
        ip: the address to listen on.
        db: the gradebook's URL when not OUT's own (see ``gradebook_url``).

    Returns:
        The exit status: 0 once stopped.

    Raises:
        NotGradedError: if OUT was not graded.
    """
    out = Path(out).resolve()
    if not (out / ".convbook" / "course").is_dir():  # before gradebook_url writes there
        raise NotGradedError(
            f"{out} has not been graded: run `convbook grade SUBMISSIONS --out {out}`"
        )
    db_url = gradebook_url(out, db)
    root = course_view(out, db_url)
    os.chdir(root)  # nbgrader reads nbgrader_config.py from the working folder at each request
    token = secrets.token_urlsafe(32)
    server = _server_class()()
    server.jpserver_extensions = {__name__: True}
    try:
        server.initialize(
            [
                f"--ServerApp.ip={ip}",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.allow_root=True",  # run() has checked --allow-root
                "--ServerApp.open_browser=False",
                f"--ServerApp.authorizer_class={__name__}.FormgraderOnly",
                f"--IdentityProvider.token={token}",
                f"--CourseDirectory.root={root}",
                "--ServerApp.log_level=WARN",
            ],
            find_extensions=False,
        )
        server.no_browser_open_file = True  # no page with the token in the runtime folder
        server.start_app()
    except SystemExit as stopped:  # Jupyter exits when it cannot listen (its log says why)
        print(f"convbook formgrade: cannot serve on {ip}:{port}; try another --port",
              file=sys.stderr)  # fmt: skip
        return int(stopped.code or 1)

    def stop(signum: int, frame) -> None:
        print("convbook formgrade: stopping", file=sys.stderr, flush=True)
        server.stop(from_signal=True)

    signal.signal(signal.SIGINT, stop)  # no "Shut down (y/n)?" prompt: Ctrl-C stops
    signal.signal(signal.SIGTERM, stop)
    host = "127.0.0.1" if ip in ("", "0.0.0.0", "::") else ip
    host = f"[{host}]" if ":" in host else host

    def announce() -> None:
        # Jupyter binds its port in a callback of the event loop, queued before this one:
        # the URL is printed only once the server accepts connections on it.
        print(f"convbook formgrade: gradebook {safe_url(db_url)}", file=sys.stderr)
        print("convbook formgrade: open this URL (Ctrl-C stops the server):", file=sys.stderr)
        print(f"http://{host}:{server.port}/formgrader?token={token}", flush=True)

    server.io_loop.add_callback(announce)
    try:
        server.start_ioloop()
    finally:
        gradebook = server.web_app.settings.get("nbgrader_gradebook")
        if gradebook is not None:
            gradebook.close()
    return 0


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``formgrade`` command's options."""
    parser = parser or argparse.ArgumentParser(
        prog="convbook formgrade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("out", type=Path, help="a folder `convbook grade` wrote (its --out)")
    parser.add_argument("--port", type=int, default=8888, help="TCP port (default 8888)")
    parser.add_argument(
        "--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)"
    )
    parser.add_argument("--allow-root", action="store_true", help="run although the user is root")
    parser.add_argument(
        "--db", default=None, help="gradebook URL, if not OUT's own (postgresql://...)"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``convbook formgrade`` with parsed options."""
    if os.geteuid() == 0 and not args.allow_root:
        print(
            "convbook formgrade: refusing to run as root: the server would act with root's "
            "rights for anyone holding its URL. Run it as your own user, or pass --allow-root.",
            file=sys.stderr,
        )
        return 2
    try:
        return serve(args.out, args.port, args.ip, args.db)
    except ValueError as error:
        print(f"convbook formgrade: {error}", file=sys.stderr)
        return 2
