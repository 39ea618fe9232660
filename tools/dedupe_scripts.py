"""Sphinx extension for the course website: write each ``<script>`` tag once per page.

Sphinx 7.4 registers an inline script added with ``app.add_js_file(None, body=...)`` twice
(once with ``filename=None``, once with ``''``; fixed upstream in sphinx-doc/sphinx#13402,
Sphinx 8.2). sphinx-thebe's inline ``const THEBE_JS_URL = ...`` then runs twice and every
page logs "Identifier 'THEBE_JS_URL' has already been declared". Loaded from
``_config.yml`` (``sphinx.local_extensions``).
"""

from typing import Any

__all__ = ["setup"]


def _script_key(script: Any) -> tuple:
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return (filename, tuple(sorted((key, str(value)) for key, value in attributes.items())))


def drop_duplicate_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Keep the first of any scripts with the same file (or inline body) and attributes."""
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
