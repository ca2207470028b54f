"""Dunning: reminder strategies, holds on items and customers, the daily engine run and the
outbox of actions it creates."""
