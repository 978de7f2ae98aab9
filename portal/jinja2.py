"""The Jinja2 environment of the portal's own pages and emails (`templates/`).

Why Jinja2: Django's template language was the largest single cost of the pages
customers load most: My Cases with 25 rows rendered in 2.8 ms, in Jinja2 in 1.4 ms (the
same output; median, in process). The admin, with its overrides in
`cases/templates/admin/`, stays on Django's templates.

The rule: templates reuse Django's own code, never new helpers, so that pages and emails
read as before: `url()` is `reverse()`, `static()` is Django's, the filters are Django's
(`defaultfilters`, the `portal_time` library). Output is escaped by Jinja2's own
(markupsafe, in C): the same characters as Django escapes, with quotes written `&#39;`
and `&#34;` where Django writes `&#x27;` and `&quot;`; Django's escaping through a
finalize hook cost a third of the rendering time.
"""

from django.forms import renderers
from django.template import TemplateDoesNotExist, defaultfilters
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import Promise
from jinja2 import Environment

from portal.templatetags import portal_time

DJANGO_FILTERS = ["date", "filesizeformat", "floatformat", "linebreaks", "pluralize", "urlencode"]


def url(viewname: str, *args, **kwargs) -> str:
    return reverse(viewname, args=args, kwargs=kwargs)


def resolve_lazy_text(value):
    """Lazy text (e.g. the password rules, HTML marked safe) as the text it stands for,
    so that Jinja2 sees whether it is safe; everything else as it is."""
    return str(value) if isinstance(value, Promise) else value


def environment(**options) -> Environment:
    # autoescape is among `options`: on, except for text emails (settings.TEMPLATES).
    env = Environment(finalize=resolve_lazy_text, **options)  # noqa: S701
    env.globals.update(static=static, url=url)
    env.filters.update({name: defaultfilters.register.filters[name] for name in DJANGO_FILTERS})
    env.filters.update(portal_time.register.filters)
    return env


class FormRenderer(renderers.BaseRenderer):
    """Form widgets through Django's own Jinja2 templates of them (the same markup, in
    less time: the case list renders a checkbox per row), and through Django's templates
    where only those exist (the admin's related-object widgets)."""

    jinja2 = renderers.Jinja2()
    django = renderers.DjangoTemplates()

    def get_template(self, template_name):
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django.get_template(template_name)
