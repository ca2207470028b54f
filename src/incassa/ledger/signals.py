"""Signals the ledger sends, so that later apps react without the ledger knowing them."""

from django.dispatch import Signal

# Sent inside the import's transaction once a receivables snapshot has been applied, with
# ``company``, ``as_of`` and ``closed`` (how many items it closed). Dunning cancels the
# pending actions of items that are now paid.
snapshot_applied = Signal()

# Sent inside the transaction of anything else that changed open items between two
# snapshots (e-invoices, bank payments), with ``company`` and ``as_of``: the open balances
# that the long lists rank by are computed again once it commits.
ledger_changed = Signal()
