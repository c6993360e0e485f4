"""health-score-svc: Customer health scores and retention reports (arrives with its own issue)."""
