"""The Jinja2 environment of the portal's own pages and emails (`templates/`).

Why Jinja2: Django's template language was the largest single cost of the pages
customers load most: My Cases with 25 rows rendered in 2.8 ms, in Jinja2 in 1.4 ms (the
same output; median, in process). The admin, with its overrides in
`cases/templates/admin/`, stays on Django's templates.

The rule: templates reuse Django's own code, never new helpers, so that pages and emails
read exactly as before: `url()` is `reverse()`, `static()` is Django's, the filters are
Django's (`defaultfilters`, the `portal_time` library), and output is escaped as Django
escapes it (`&#x27;`, `&quot;`, where Jinja2 alone writes `&#39;`, `&#34;`).
"""

from django.forms import renderers
from django.template import TemplateDoesNotExist, defaultfilters
from django.templatetags.static import static
from django.urls import reverse
from django.utils.functional import Promise
from jinja2 import Environment, pass_eval_context
from markupsafe import Markup
from markupsafe import escape as markup_escape

from portal.templatetags import portal_time

DJANGO_FILTERS = ["date", "filesizeformat", "floatformat", "linebreaks", "pluralize", "urlencode"]


def url(viewname: str, *args, **kwargs) -> str:
    return reverse(viewname, args=args, kwargs=kwargs)


@pass_eval_context
def escape_as_django(eval_ctx, value):
    """django.utils.html.conditional_escape()'s output, through markupsafe's C escape
    (Django's own, behind its lazy-text wrapper, took a third of the rendering time)."""
    if not eval_ctx.autoescape:
        return value
    if isinstance(value, Promise):  # lazy text, maybe safe (password help)
        value = str(value)
    if hasattr(value, "__html__"):
        return value
    escaped = markup_escape(value)
    if "&#3" in escaped:  # markupsafe's quotes, spelled as Django spells them
        django_quotes = str(escaped).replace("&#39;", "&#x27;").replace("&#34;", "&quot;")
        escaped = Markup(django_quotes)  # noqa: S704 - escaped just above
    return escaped


def environment(**options) -> Environment:
    # autoescape is among `options`: on, except for text emails (settings.TEMPLATES).
    env = Environment(finalize=escape_as_django, **options)  # noqa: S701
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
