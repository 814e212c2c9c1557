"""clmsite's own middleware: input no database can store is refused at the door, before any
view sees it; the Permissions-Policy header goes on every response."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse

NUL = "\x00"


def unstorable_text(text: str) -> str | None:
    """Why ``text`` cannot be stored as database text (PostgreSQL refuses NUL and lone
    surrogates), or None when it can."""
    if NUL in text:
        return "contains a NUL character (\\u0000), which cannot be stored."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (an invalid \\uD800–\\uDFFF escape), which cannot be stored."
    return None


class RefuseUnstorableQueryMiddleware:
    """A query parameter with a NUL character would reach a filter and make PostgreSQL fail
    (a 500); it is a 400 naming the parameter instead, in the API's error body under /api/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            for text in (name, *values):
                reason = unstorable_text(text)
                if reason is not None:
                    return self._refuse(request, name, f"the query parameter {name!r} {reason}")
        return self.get_response(request)

    @staticmethod
    def _refuse(request, name: str, message: str):
        if request.path.startswith("/api/"):
            problem = {"field": name, "message": message, "code": "invalid"}
            return JsonResponse({"errors": [problem]}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class PermissionsPolicyMiddleware:
    """Sends PERMISSIONS_POLICY (Django has no setting for this header): the browser features
    clmsite never uses are switched off for its pages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response


class AuditActorMiddleware:
    """Makes the signed-in person the acting actor of their request (contracts.services.audit),
    so that changes without an actor of their own, such as admin edits of master data, name
    them. The user is looked up only when a change asks: requests that change nothing pay nothing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from contracts.services import audit
        from contracts.services.common import Actor

        def signed_in():
            user = getattr(request, "user", None)
            return Actor.for_user(user) if user is not None and user.is_authenticated else None

        with audit.acting_as(signed_in):
            return self.get_response(request)
