from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from contracts.views import DashboardView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("contracts.api.urls")),
    path("health/", include("clmsite.health")),  # no login: load balancers and monitors
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("contracts.urls")),  # /contracts/, /vendors/, …
    path("", DashboardView.as_view(), name="home"),
]

handler500 = "contracts.api.errors.server_error"
