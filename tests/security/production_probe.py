"""Run under production settings (DEBUG off) in its own process: GET each page over
HTTPS as anonymous, the customer and the engineer, and print status and headers as JSON.

Usage: python -m tests.security.production_probe customer@example.com engineer@example.com
"""

from __future__ import annotations

import json
import os
import sys

import django


def main(customer_email: str, engineer_email: str, paths_json: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")
    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    users = get_user_model().objects
    pages = json.loads(paths_json)
    results = []
    for who, paths in pages.items():
        client = Client(HTTP_HOST="support.example.com")
        if who != "anonymous":
            user = users.get(email={"customer": customer_email}.get(who, engineer_email))
            client.force_login(user)
        if who == "engineer":
            # Past the second factor production asks staff for (portal/twofactor).
            device = TOTPDevice.objects.create(user=user, name="Probe", confirmed=True)
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
        for path in paths:
            response = client.get(path, secure=True)
            results.append(
                {
                    "who": who,
                    "path": path,
                    "status": response.status_code,
                    "headers": dict(response.headers),
                }
            )
    print(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:4])
