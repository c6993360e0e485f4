"""Usage-based billing: fast idempotent ingestion of usage events, their aggregation per metric,
and billing in arrears on the next period's invoice (late usage as separate lines)."""
