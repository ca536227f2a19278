import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# After DJANGO_SETTINGS_MODULE is set: it reads the settings.
from deliveries.observability.tracing import tracing_init

# Before the application loads its middleware: Django's instrumentation adds its own.
tracing_init(service_name="hookline-web", web=True)
application = get_wsgi_application()
