"""The ASGI entry point that production serves (gunicorn's `asgi` worker, see README
"Libraries and why"): an asyncio server reads request lines and headers without holding a
worker, so slow or idle clients cannot starve the web tier. `config.wsgi` keeps working for
any WSGI server.

Each request runs its (synchronous) view in a thread of its own under ASGI, so a connection a
thread opened could never be reused by the next request: persistent database connections are
off here unless DATABASE_CONN_MAX_AGE says otherwise.

The URL configuration (and with it every view, DRF and the schema tooling) is loaded when a
worker starts rather than by its first request, so no request after a deploy or a worker
restart waits a second or more for the imports.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")

# After DJANGO_SETTINGS_MODULE is set: it reads the settings.
from deliveries.observability.tracing import tracing_init

# Before the application loads its middleware: Django's instrumentation adds its own.
tracing_init(service_name="hookline-web", web=True)
application = get_asgi_application()

from django.urls import get_resolver  # noqa: E402 - needs the settings configured just above

get_resolver().url_patterns  # noqa: B018 - loading them is the point
