"""Pieces shared by every app: money fields and locale-aware formatting."""
