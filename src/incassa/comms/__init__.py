"""Communications: what is sent to debtors, and the statutory late interest it states."""
