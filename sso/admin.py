"""allauth's own tables in the Django admin: read-only (T3).

The portal keeps each customer's identity provider in its own model (sso.models), edited through
the Sign-in card's audited service; allauth's app table stays empty, and its accounts, e-mail
addresses and tokens are written by sign-ins only. Editing them here would bypass both.
"""

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin

from msp_portal.admin import ReadOnlyAdmin

for model in (EmailAddress, SocialAccount, SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, ReadOnlyAdmin)
