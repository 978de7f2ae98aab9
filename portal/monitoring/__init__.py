"""Knowing the portal is healthy: `/health/` for load balancers, `/metrics` for
Prometheus, errors to Sentry.

- `health`: the checks behind `/health/` and the middleware that answers probes;
- `metrics`: the Prometheus metrics and `/metrics`;
- `sweeps`: the record of the last auto-close sweep (beat's heartbeat);
- `sentry`: error reporting, on only with `SENTRY_DSN`.
"""
