"""Services that connect SemPelMas to other systems (the integration API, webhooks, OpenDK)."""
