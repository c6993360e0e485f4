"""Operator and developer tooling for Tenure: the `tenure` command and the local stack."""
