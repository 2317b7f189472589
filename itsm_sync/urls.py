from django.urls import path

from . import views

app_name = "itsm_sync"
urlpatterns = [
    path("sync/", views.run_list, name="run_list"),
    path("sync/start/", views.run_start, name="run_start"),
    path("sync/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("sync/runs/<int:pk>/approve/", views.run_approve, name="run_approve"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/<int:pk>/", views.company_detail, name="company_detail"),
    path("people/companies/", views.company_options, name="company_options"),
    path("people/", views.person_list, name="person_list"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
]
