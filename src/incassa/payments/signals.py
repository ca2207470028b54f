"""Signals payments send, so that dunning and the agreements follow without payments knowing
them."""

from django.dispatch import Signal

# Sent inside the transaction that booked bank payments against items, with ``company``,
# ``on_date`` (the day they were booked) and ``closed`` (how many items they closed). Like
# ``ledger.signals.snapshot_applied``: what was still to go out for paid items is cancelled,
# and promises and plans are reviewed.
payments_booked = Signal()
