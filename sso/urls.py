from django.urls import include, path

from . import views

app_name = "sso"

urlpatterns = [
    path("customers/<int:pk>/card/", views.customer_signin_card, name="customer_signin_card"),
    path("customers/<int:pk>/", views.customer_signin, name="customer_signin"),
]

# allauth's protocol endpoints, without its own account pages (sign-in stays the portal's).
allauth_urlpatterns = [
    path("saml/<str:organization_slug>/sls/", views.saml_sls, name="saml_sls"),
    path(
        "saml/<str:organization_slug>/acs/finish/",
        views.saml_finish_acs,
        name="saml_finish_acs",
    ),
    path(
        "oidc/<str:provider_id>/login/callback/",
        views.oidc_callback,
        name="openid_connect_callback",
    ),
    path("", include("allauth.socialaccount.providers.openid_connect.urls")),
    path("", include("allauth.socialaccount.providers.saml.urls")),
    path("refused/", views.refused, name="socialaccount_login_cancelled"),
    path("error/", views.refused, name="socialaccount_login_error"),
]
