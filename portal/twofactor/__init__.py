"""Engineers' second factor for the admin: a TOTP app, with one-time backup codes.

django-otp keeps the devices (`otp_totp`, `otp_static`) and marks a session verified;
this app decides who must verify (`rules`), counts wrong codes (`services`), enrols and
verifies (`views`) and keeps every admin page behind it (`middleware`).
"""
