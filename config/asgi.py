"""The ASGI entry point that production serves (gunicorn's `asgi` worker, see README
"Libraries and why"): an asyncio server reads request lines and headers without holding a
worker, so slow or idle clients cannot starve the web tier. `config.wsgi` keeps working for
any WSGI server.

Each request runs its (synchronous) view in a thread of its own under ASGI, so a connection a
thread opened could never be reused by the next request: persistent database connections are
off here unless DATABASE_CONN_MAX_AGE says otherwise.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")
application = get_asgi_application()
