"""`make run` on one machine: DEBUG on, a development secret key, no server needed.

The one-machine defaults themselves (SQLite, the filesystem broker, a file cache, emails
printed by the worker) are in `base`: production may run on the first three too.
"""

from .base import *  # noqa: F403
from .base import DEVELOPMENT_SECRET_KEY, SECRET_KEY, env_bool

DEBUG = True
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
# The demo engineer reaches the admin with the password alone (`base`: on without DEBUG).
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", default=not DEBUG)
