"""One package per role: its view of the inventory, rendering, CLI commands, secret names, audit events."""
