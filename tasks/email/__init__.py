"""Email: building messages from outbox rows, transports, and delivery."""
