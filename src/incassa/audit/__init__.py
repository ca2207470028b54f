"""Login safety and the audit trail: who changed what, when, from where; immutable."""
