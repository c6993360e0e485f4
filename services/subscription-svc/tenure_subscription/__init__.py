"""subscription-svc: catalog, customers, subscriptions, settings and test clocks."""
