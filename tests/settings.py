"""Settings for the test suite: config.settings with time compressed through the environment.

The same variables are handed to the worker and scheduler processes that tests start, so the
test process and the workers agree on every setting.
"""

import os

TEST_ENVIRONMENT = {
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hookline"),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
    "WEBHOOK_ALLOW_HTTP_LOCAL": "true",
    "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
    "WEBHOOK_BACKOFF_BASE_SECONDS": "0.3",
    "WEBHOOK_BACKOFF_JITTER": "0",
    "WEBHOOK_CLAIM_LEASE_SECONDS": "4",
    "WEBHOOK_SCHEDULER_INTERVAL_SECONDS": "0.2",
    "WEBHOOK_EXPIRY_INTERVAL_SECONDS": "0.5",
    "WEBHOOK_AUTO_DISABLE_CHECK_INTERVAL_SECONDS": "0",
    "LOG_LEVEL": "INFO",
}
for _name, _value in TEST_ENVIRONMENT.items():
    os.environ.setdefault(_name, _value)
TEST_ENVIRONMENT = {name: os.environ[name] for name in TEST_ENVIRONMENT}

from config.settings import *  # noqa: E402, F403

# Hashing test users' passwords with PBKDF2 is most of a view test's time; MD5 is fine here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
