"""dunning-svc: the retry policy, dunning cases and their attempts, final actions."""
