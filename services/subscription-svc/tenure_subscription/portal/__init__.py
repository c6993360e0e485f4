"""The customer portal: server-rendered pages under `/portal` that act only through the services'
public `/v1` APIs with the customer's portal session as bearer (never another service's database,
never an admin key)."""
