"""Access: API keys and customer portal sessions (subscription-svc keeps them for every service)."""
