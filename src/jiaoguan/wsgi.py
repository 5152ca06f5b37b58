"""WSGI entry point for gunicorn or granian."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jiaoguan.settings")
application = get_wsgi_application()

# The signing key must exist before the first answer: verifiers download the trust list and
# the status list first, and an empty trust list makes every offline verification fail.
# Made here in demo mode; otherwise a missing key stops the start with what to do.
from jiaoguan.credentials.keys import signing_key_ready  # noqa: E402  needs the apps loaded

signing_key_ready()
