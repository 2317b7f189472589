"""{% once_per %}: a fragment drawn once per distinct inputs, and from nothing but its inputs."""

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse
from django.utils.safestring import mark_safe

from msp_portal.templatetags import once_per
from tests.accounts.factories import UserFactory


def _draw(source: str, **context) -> str:
    return Template("{% load once_per %}" + source).render(Context(context))


def test_the_fragment_sees_its_inputs_and_nothing_else():
    source = "{% once_per name=user_name %}[{{ name }}|{{ secret }}]{% endonce_per %}"
    assert _draw(source, user_name="Ann", secret="s3cret") == "[Ann|]"


def test_other_inputs_draw_afresh_and_the_same_inputs_draw_the_same():
    template = Template(
        "{% load once_per %}{% once_per name=name n=n %}{{ name }} {{ n }}{% endonce_per %}"
    )
    assert template.render(Context({"name": "Ann", "n": 1})) == "Ann 1"
    assert template.render(Context({"name": "Bob", "n": 1})) == "Bob 1"
    assert template.render(Context({"name": "Ann", "n": 2})) == "Ann 2"
    assert template.render(Context({"name": "Ann", "n": 1})) == "Ann 1"


def test_text_marked_safe_is_told_apart_from_text_that_is_not():
    template = Template("{% load once_per %}{% once_per v=v %}{{ v }}{% endonce_per %}")
    assert template.render(Context({"v": "<b>"})) == "&lt;b&gt;"
    assert template.render(Context({"v": mark_safe("<b>")})) == "<b>"
    assert template.render(Context({"v": "<b>"})) == "&lt;b&gt;"


def test_lists_and_dicts_of_plain_values_are_inputs():
    source = (
        "{% once_per items=items %}{% for i in items %}{{ i.label }}{{ i.active|yesno:'*,' }} "
        "{% endfor %}{% endonce_per %}"
    )
    items = [{"label": "A", "active": True}, {"label": "B", "active": False}]
    assert _draw(source, items=items) == "A* B "
    items[1]["active"] = True
    assert _draw(source, items=items) == "A* B* "


@pytest.mark.django_db
def test_a_model_instance_is_refused_as_an_input():
    with pytest.raises(TemplateSyntaxError, match="plain values"):
        _draw("{% once_per user=user %}{{ user }}{% endonce_per %}", user=UserFactory())


@pytest.mark.parametrize(
    ("inner", "refused"),
    [("{% csrf_token %}", "csrf_token"), ("{% block b %}{% endblock %}", "block")],
)
def test_what_belongs_to_one_request_or_page_is_refused_when_loaded(inner, refused):
    with pytest.raises(TemplateSyntaxError, match=f"can't hold {{% {refused} %}}"):
        Template("{% load once_per %}{% once_per %}" + inner + "{% endonce_per %}")


def test_only_name_value_inputs_are_taken():
    with pytest.raises(TemplateSyntaxError, match="name=value"):
        Template("{% load once_per %}{% once_per nav_items %}{% endonce_per %}")


def test_urls_inside_draw_as_outside():
    assert _draw("{% once_per %}{% url 'home' %}{% endonce_per %}") == reverse("home")


def test_the_store_is_bounded(monkeypatch):
    monkeypatch.setattr(once_per, "KEEP", 3)
    template = Template("{% load once_per %}{% once_per n=n %}{{ n }}{% endonce_per %}")
    node = template.nodelist.get_nodes_by_type(once_per.OncePerNode)[0]
    for n in range(10):
        assert template.render(Context({"n": n})) == str(n)
        assert len(node.drawn) <= 3


@pytest.mark.django_db
def test_each_person_gets_their_own_navigation_and_name(
    client, catalog_admin, tenant_a, system_admin
):
    """The chrome is kept per inputs: whoever drew it first, the next person sees their own."""
    pages = []
    for user in (catalog_admin, tenant_a["eve"], system_admin, catalog_admin):
        client.force_login(user)
        pages.append(client.get(reverse("home"), follow=True).content.decode())
    staff, end_user, system, staff_again = pages
    customers = f'href="{reverse("customers:customer_list")}"'
    assert customers in staff and customers in staff_again
    assert customers not in end_user
    assert f'href="{reverse("portal:catalog")}"' in end_user
    assert f'href="{reverse("customers:msp_mode")}"' in system
    assert f'href="{reverse("customers:msp_mode")}"' not in staff
    assert tenant_a["eve"].display_name in end_user
    assert tenant_a["eve"].display_name not in staff_again
    assert "Django admin" in staff and "Django admin" not in end_user
