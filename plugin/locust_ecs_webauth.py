"""locust-ecs: HTTP basic auth for Locust's web UI on Locust 2.21 and later.

Locust 2.21 removed --web-auth (LOCUST_WEB_AUTH); its --web-login only turns on Flask-Login
and expects the login code in a locustfile. When LOCUST_WEB_AUTH=user:password is set and
the engine's Locust is 2.21 or later, locust-entrypoint adds this file to Locust's
comma-separated -f list and adds --web-login; the user's locustfile is left as it is. The
credentials come in LOCUST_ECS_WEB_AUTH (Locust refuses LOCUST_WEB_AUTH itself), never on
the command line.

Every protected page then wants HTTP basic auth, as --web-auth did: no credentials or wrong
ones get 401 with a WWW-Authenticate header, the right ones get the page. Where there is
no web UI (workers, headless runs) this file does nothing.
"""
import hmac
import os
import secrets

from flask import Response
from flask_login import UserMixin
from locust import events

SECRET_VARIABLE = "LOCUST_ECS_WEB_AUTH"
REALM = "Locust"


class _Operator(UserMixin):
    """The one user HTTP basic auth knows."""

    def get_id(self):
        return "locust-ecs"


def _same(given, expected):
    # constant time, on bytes: compare_digest takes only ASCII str
    return hmac.compare_digest((given or "").encode("utf-8"), expected.encode("utf-8"))


@events.init.add_listener
def _protect_web_ui(environment, **_kwargs):
    credentials = os.environ.pop(SECRET_VARIABLE, None)
    web_ui = environment.web_ui
    if not credentials or web_ui is None:
        return
    user, _, password = credentials.partition(":")
    app = web_ui.app
    # Locust's login check writes the Flask session, which needs a key; it never leaves
    # this process, and a restart makes a new one
    if not app.secret_key:
        app.secret_key = secrets.token_bytes(32)
    manager = web_ui.login_manager

    @manager.request_loader
    def _from_basic_auth(request):
        auth = request.authorization
        if auth is None or (getattr(auth, "type", "basic") or "").lower() != "basic":
            return None
        # both compared, whatever the first says: the time tells nothing
        ok_user = _same(auth.username, user)
        ok_password = _same(auth.password, password)
        return _Operator() if ok_user and ok_password else None

    @manager.unauthorized_handler
    def _ask_for_credentials():
        # returned, not raised: Locust's wrapper turns exceptions into a 200 page
        return Response("401 Unauthorized: this Locust web UI wants HTTP basic auth\n", 401,
                        {"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'})
