"""Admin pieces shared by every app."""

from __future__ import annotations

from django.http import HttpRequest


class ReadOnlyMixin:
    """Viewable by whoever may view the model; never added, changed or deleted by hand.

    For history (item events, engine steps, runs, imports): what happened is not edited.
    """

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
