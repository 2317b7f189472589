"""/api/: the token page, and the JSON API, version 1, with its schema and reference page."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)

from . import (
    audit,
    catalog,
    credits,
    customers,
    notifications,
    problems,
    requests,
    service_catalog,
    sync,
    tokens,
    views,
)

# One customer's routes, below customers/<pk>/; one marketplace's, below its marketplaces/<pk>/.
marketplace = [
    path("", catalog.MarketplaceDetail.as_view(), name="marketplace_detail"),
    path("services/", catalog.MarketplaceServices.as_view(), name="marketplace_services"),
    path("audience/", catalog.AudienceRules.as_view(), name="marketplace_audience"),
]
customer = [
    path("", customers.CustomerDetail.as_view(), name="customer_detail"),
    path("services/", customers.CustomerServices.as_view(), name="customer_services"),
    path(
        "services/<int:service_pk>/",
        customers.CustomerServiceRemove.as_view(),
        name="customer_service_remove",
    ),
    path(
        "administrators/",
        customers.CustomerAdministrators.as_view(),
        name="customer_administrators",
    ),
    path(
        "administrators/<int:admin_pk>/",
        customers.CustomerAdministratorRemove.as_view(),
        name="customer_administrator_remove",
    ),
    path(
        "end-user-filters/",
        customers.CustomerEndUserFilters.as_view(),
        name="customer_end_user_filters",
    ),
    path(
        "end-user-filters/<int:filter_pk>/",
        customers.CustomerEndUserFilterDelete.as_view(),
        name="customer_end_user_filter_delete",
    ),
    path("marketplaces/", catalog.MarketplaceList.as_view(), name="marketplace_list"),
    path("marketplaces/<int:marketplace_pk>/", include(marketplace)),
    path("settings/", customers.CustomerSettings.as_view(), name="customer_settings"),
    path("explain/", catalog.Explain.as_view(), name="explain"),
    path("credits/", credits.Account.as_view(), name="credit_account"),
    path("credits/ledger/", credits.Ledger.as_view(), name="credit_ledger"),
    path("credits/grant/", credits.Grant.as_view(), name="credit_grant"),
    path("credits/adjust/", credits.Adjust.as_view(), name="credit_adjust"),
    path("credits/hard-limit/", credits.HardLimit.as_view(), name="credit_hard_limit"),
]

v1 = [
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]),
        name="schema",
    ),
    # Swagger UI's page carries one small <style> block: inline styles are allowed there alone.
    path(
        "docs/",
        csp_update({"style-src": [SELF, UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="api:v1:schema", permission_classes=[], authentication_classes=[]
            )
        ),
        name="docs",
    ),
    path("customers/", customers.CustomerList.as_view(), name="customer_list"),
    path("customers/<int:pk>/", include(customer)),
    path("services/", service_catalog.ServiceList.as_view(), name="service_list"),
    path("services/<int:pk>/", service_catalog.ServiceDetail.as_view(), name="service_detail"),
    path(
        "services/<int:pk>/publish/",
        service_catalog.ServicePublish.as_view(),
        name="service_publish",
    ),
    path(
        "services/<int:pk>/retire/", service_catalog.ServiceRetire.as_view(), name="service_retire"
    ),
    path(
        "services/<int:pk>/questions/",
        service_catalog.ServiceQuestions.as_view(),
        name="service_questions",
    ),
    path(
        "services/<int:pk>/questions/<int:question_pk>/",
        service_catalog.ServiceQuestion.as_view(),
        name="service_question",
    ),
    path(
        "services/<int:pk>/questions/<int:question_pk>/move/",
        service_catalog.ServiceQuestionMove.as_view(),
        name="service_question_move",
    ),
    path("categories/", service_catalog.CategoryList.as_view(), name="category_list"),
    path("catalog/", catalog.EntitledCatalog.as_view(), name="catalog"),
    path("requests/", requests.RequestList.as_view(), name="request_list"),
    path("requests/<int:pk>/", requests.RequestDetail.as_view(), name="request_detail"),
    path("requests/<int:pk>/cancel/", requests.RequestCancel.as_view(), name="request_cancel"),
    path(
        "requests/<int:pk>/transition/",
        requests.RequestTransition.as_view(),
        name="request_transition",
    ),
    path("requests/<int:pk>/decide/", requests.RequestDecide.as_view(), name="request_decide"),
    path("approvals/", requests.ApprovalList.as_view(), name="approval_list"),
    path("sync/runs/", sync.RunList.as_view(), name="sync_run_list"),
    path("sync/runs/<int:pk>/", sync.RunDetail.as_view(), name="sync_run_detail"),
    path("sync/runs/<int:pk>/approve/", sync.RunApprove.as_view(), name="sync_run_approve"),
    path("audit/", audit.AuditEventList.as_view(), name="audit_event_list"),
    path("notifications/", notifications.NotificationList.as_view(), name="notification_list"),
    path(
        "notifications/read-all/",
        notifications.NotificationReadAll.as_view(),
        name="notification_read_all",
    ),
    path(
        "notifications/<int:pk>/read/",
        notifications.NotificationRead.as_view(),
        name="notification_read",
    ),
    path("tokens/", tokens.TokenList.as_view(), name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.TokenRevoke.as_view(), name="token_revoke"),
    # Last: whatever no route above takes answers a problem, not the pages' HTML 404.
    re_path(r"^", problems.not_found),
]

app_name = "api"
urlpatterns = [
    path("tokens/", views.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
    path("v1/", include((v1, "v1"))),
]
