"""Settings for the support portal, one module per way it runs.

- `base`: everything common, read from the environment (see `.env.example`);
- `local`: `make run` on one machine, DEBUG on;
- `production`: DEBUG off; refuses to start on the local defaults, HTTPS only;
- `test`: the test suite (pyproject.toml's DJANGO_SETTINGS_MODULE).

`DJANGO_SETTINGS_MODULE=portal.settings`, the default of manage.py, the WSGI application
and the Celery app, picks one by the environment's DEBUG: `local` when it is true,
`production` otherwise (unset included), so that a server never runs on the local
defaults by omission. Naming a module (`portal.settings.production`) works as well.
"""

import os

# Python runs this file before any module of the package: pick only when asked to.
if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__:
    from .base import env_bool

    if env_bool("DEBUG"):
        from .local import *  # noqa: F403
    else:
        from .production import *  # noqa: F403
