"""The one way views reach what the application shares (the role `db.get_db()` plays in Flask's tutorial).

It imports nothing of the blueprints, so any view can use it without an import cycle.
"""

from __future__ import annotations

from flask import current_app

from service.runtime import Services

EXTENSION = "samverkan"


def services() -> Services:
    """The running application's services (service/runtime.py), kept on the app by create_app."""
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]
