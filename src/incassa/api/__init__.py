"""The REST API (Django Ninja) under ``/api/``: token authentication, one error format."""
