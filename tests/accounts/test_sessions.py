"""A deactivated account's sessions end at the next request (I1 item 5)."""

from django.urls import reverse


def test_a_deactivated_accounts_session_ends_at_the_next_request(client, end_user):
    client.force_login(end_user)
    assert client.get(reverse("home")).status_code in (200, 302)
    end_user.is_active = False
    end_user.save(update_fields=["is_active"])
    response = client.get(reverse("portal:catalog"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
    # Active again, the old session stays ended: they sign in afresh.
    end_user.is_active = True
    end_user.save(update_fields=["is_active"])
    response = client.get(reverse("portal:catalog"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]
