"""The reference service: an ASGI app on the order store and PostgreSQL (README.md)."""
