"""The Jinja2 environment of the test settings: each template announces its rendering.

Django's test set-up makes every template of its own engine send `template_rendered`
when it renders (the test client's `response.templates`, tests/rendered.py's list of
templates the walk rendered); its Jinja2 backend sends nothing. Here each Jinja2
template sends it likewise, the page's template first and then every template it
extends or includes, as each starts to render.
"""

import jinja2
from django.test.signals import template_rendered

from portal.jinja2 import environment as portal_environment


class InstrumentedTemplate(jinja2.Template):
    @classmethod
    def from_code(cls, environment, code, globals, uptodate=None):
        template = super().from_code(environment, code, globals, uptodate)
        render = template.root_render_func

        # Pages, `{% extends %}` and `{% include %}` all render through this function.
        def root_render_func(context):
            template_rendered.send(sender=template, template=template, context=context)
            yield from render(context)

        template.root_render_func = root_render_func
        return template


def environment(**options) -> jinja2.Environment:
    env = portal_environment(**options)
    env.template_class = InstrumentedTemplate
    return env
