"""Mechanisms every Tenure service shares. No business rules live here."""
