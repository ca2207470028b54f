"""Bank statements, payment matching and the payments they book against the ledger."""
