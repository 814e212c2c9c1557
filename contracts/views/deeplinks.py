"""Opening a deep link (SPEC §8.5): signed in, allowed to see the record, then its page."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views import View

from clmsite.security import deep_link_wait, too_many_requests
from contracts.deeplinks import deep_link_destination


class DeepLinkView(LoginRequiredMixin, View):
    """``/l/<token>/``: an anonymous visitor signs in first and comes back; an altered link,
    or one to a legal entity the person may not see, is "not found". Each address may open
    DEEP_LINK_RATE_LIMIT links, so tokens cannot be tried in bulk."""

    def dispatch(self, request, *args, **kwargs):
        wait = deep_link_wait(request)
        if wait is not None:
            return too_many_requests(request, wait, "Too many links opened from this address; try again shortly.")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, token):
        return redirect(deep_link_destination(request.user, token))
