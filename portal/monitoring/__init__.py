"""Knowing the portal is healthy: `/health/` for load balancers, `/metrics` for
Prometheus, errors to Sentry and a request id on every log line.

- `health`: the checks behind `/health/` and the middleware that answers probes;
- `metrics`: the Prometheus metrics and `/metrics`;
- `sweeps`: the record of the last auto-close sweep (beat's heartbeat);
- `request_id`: the id that follows a request into the log and the tasks it queues;
- `sentry`: error reporting, on only with `SENTRY_DSN`.
"""
