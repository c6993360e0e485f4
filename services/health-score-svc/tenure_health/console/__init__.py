"""The operations console: server-rendered pages under /console over the services' public APIs."""

from tenure_health.console.routes import install_console

__all__ = ["install_console"]
