"""subscription-svc's use cases, one module per concern. They flush, never commit."""
