"""Template filters for times (portal.timefmt): Django's `{% load portal_time %}`, and
the same filters in the Jinja2 environment (portal/jinja2.py)."""

from django import template

from portal import timefmt

register = template.Library()

register.filter("when", timefmt.display)
register.filter("when_date", timefmt.display_date)
register.filter("when_long", timefmt.display_long)
register.filter("when_iso", timefmt.iso)
