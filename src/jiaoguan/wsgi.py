"""WSGI entry point for gunicorn or granian: Django's application, with stateless API calls in
a lane of their own (core/lanes.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
django_application = get_wsgi_application()

from jiaoguan.core.lanes import LanedApplication, StatelessApiHandler  # noqa: E402  needs the settings

application = LanedApplication(full=django_application, stateless=StatelessApiHandler())

# The signing key must exist before the first answer: verifiers download the trust list and
# the status list first, and an empty trust list makes every offline verification fail.
# Made here in demo mode; otherwise a missing key stops the start with what to do.
from jiaoguan.credentials.keys import signing_key_ready  # noqa: E402  needs the apps loaded

signing_key_ready()
