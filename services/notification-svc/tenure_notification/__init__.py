"""notification-svc: signed webhooks to your endpoints and emails to your customers, from every public event."""
