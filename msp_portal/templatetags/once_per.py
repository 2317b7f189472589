"""{% once_per name=value ... %}…{% endonce_per %}: a fragment drawn once per distinct inputs.

The chrome of every page (the navigation, the static links, the top bar) is the same HTML for
the same few inputs, and drawing it through the template engine cost more than a third of the
busiest page's rendering (the customers list, bench/pages: the nav loop, seven static links,
eight URL reversals). This tag draws its fragment once per distinct set of inputs and keeps the
HTML in the process.

It is correct by construction: the fragment is drawn with *only* its named inputs in its
context (nothing of the page's context reaches it), and those inputs are the key. So the same
inputs always give the same HTML. Inputs must be plain values (text, numbers, booleans, None)
or lists, tuples and dicts of them: a model instance equals another with the same primary key
whatever its fields say, so it would be a stale key, and is refused. A fragment may not hold
`{% csrf_token %}` (a token is per request) nor a `{% block %}` (a child template's block is
part of the page's context): both are refused when the template is loaded.

The URLconf, script prefix and language in force are part of the key, so `{% url %}` and
`{% static %}` inside a fragment draw as they would outside. At most KEEP drawings are kept
per fragment; past that the fragment's store starts again (a cheap bound, enough for the few
roles and paths of a portal).
"""

from decimal import Decimal

from django import template
from django.template.base import Node, NodeList, token_kwargs
from django.template.context import Context
from django.template.defaulttags import CsrfTokenNode
from django.template.loader_tags import BlockNode
from django.urls import get_script_prefix, get_urlconf
from django.utils.functional import LazyObject
from django.utils.safestring import SafeData, mark_safe
from django.utils.translation import get_language

register = template.Library()

KEEP = 512
_PLAIN = (bool, int, float, Decimal, type(None))


def frozen(value):
    """value as a hashable key that tells apart everything that draws differently."""
    if isinstance(value, LazyObject):
        value.__class__  # noqa: B018 - evaluates the lazy object
        value = value._wrapped
    if isinstance(value, str):
        # "a&b" and mark_safe("a&b") are equal strings but draw differently.
        return (isinstance(value, SafeData), str(value))
    if isinstance(value, _PLAIN):
        return (type(value).__name__, value)
    if isinstance(value, list | tuple):
        return ("seq", *(frozen(v) for v in value))
    if isinstance(value, dict):
        return ("map", *((str(k), frozen(v)) for k, v in value.items()))
    raise template.TemplateSyntaxError(
        f"{{% once_per %}} takes plain values as inputs, not {type(value).__name__}: pass the "
        "fields the fragment shows (user.display_name, not user)."
    )


class OncePerNode(Node):
    def __init__(self, inputs: dict, nodelist: NodeList):
        self.inputs = inputs
        self.nodelist = nodelist
        self.drawn: dict = {}

    def render(self, context: Context) -> str:
        values = {name: value.resolve(context) for name, value in self.inputs.items()}
        key = (
            get_urlconf(),
            get_script_prefix(),
            get_language(),
            context.autoescape,
            frozen(values),
        )
        html = self.drawn.get(key)
        if html is None:
            own = Context(values, autoescape=context.autoescape, use_l10n=context.use_l10n)
            own.template = context.template
            html = mark_safe(self.nodelist.render(own))  # noqa: S308 - the engine drew it
            if len(self.drawn) >= KEEP:
                self.drawn.clear()
            self.drawn[key] = html
        return html


@register.tag("once_per")
def once_per(parser, token) -> OncePerNode:
    bits = token.split_contents()[1:]
    inputs = token_kwargs(bits, parser, support_legacy=False)
    if bits:
        raise template.TemplateSyntaxError(
            "{% once_per %} takes only name=value inputs, e.g. {% once_per items=nav_items %}."
        )
    nodelist = parser.parse(("endonce_per",))
    parser.delete_first_token()
    for refused, tag, why in (
        (CsrfTokenNode, "csrf_token", "a token is drawn anew for each request"),
        (BlockNode, "block", "a child template fills it in from the page's context"),
    ):
        if nodelist.get_nodes_by_type(refused):
            raise template.TemplateSyntaxError(
                f"{{% once_per %}} can't hold {{% {tag} %}}: {why}. End the fragment before it."
            )
    return OncePerNode(inputs, nodelist)
