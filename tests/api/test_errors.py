"""The error format's building blocks."""

from __future__ import annotations

from django import forms

from incassa.api.errors import ApiError, error_body, form_details


def test_an_error_takes_the_code_of_its_status_unless_told():
    assert ApiError(404, "x").code == "not_found"
    assert ApiError(409, "x").code == "conflict"
    assert ApiError(422, "x", code="import_rejected").code == "import_rejected"
    assert ApiError(418, "x").code == "error"


def test_the_body():
    assert error_body("invalid", "No.", [{"field": "a", "reason": "b"}]) == {
        "error": {"code": "invalid", "message": "No.", "details": [{"field": "a", "reason": "b"}]}
    }
    assert error_body("not_found", "No.")["error"]["details"] == []


class _Form(forms.Form):
    name = forms.CharField()

    def clean(self):
        raise forms.ValidationError("whole form")


def test_form_errors_become_details():
    form = _Form({})
    assert not form.is_valid()
    details = form_details(form)
    assert {"field": "name", "reason": "Questo campo è obbligatorio."} in details or {
        "field": "name",
        "reason": "This field is required.",
    } in details
    assert {"field": None, "reason": "whole form"} in details
