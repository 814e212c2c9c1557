"""Opening a deep link (SPEC §8.5): signed in, allowed to see the record, then its page."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views import View

from contracts.deeplinks import deep_link_destination


class DeepLinkView(LoginRequiredMixin, View):
    """``/l/<token>/``: an anonymous visitor signs in first and comes back; an altered link,
    or one to a legal entity the person may not see, is "not found"."""

    def get(self, request, token):
        return redirect(deep_link_destination(request.user, token))
