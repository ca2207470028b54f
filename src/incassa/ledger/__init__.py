"""The receivables ledger: companies, customers, sales agents, open items and their history."""
