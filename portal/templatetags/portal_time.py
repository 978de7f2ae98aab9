"""Template filters for times: `{% load portal_time %}`, see portal.timefmt."""

from django import template

from portal import timefmt

register = template.Library()

register.filter("when", timefmt.display)
register.filter("when_date", timefmt.display_date)
register.filter("when_long", timefmt.display_long)
register.filter("when_iso", timefmt.iso)
