"""Credit accounts and the ledger (filled by the credits issue)."""
