"""Knowing the portal is healthy.

- `health`: the checks behind `/health/` and the middleware that answers probes;
- `sweeps`: the record of the last auto-close sweep (beat's heartbeat).
"""
