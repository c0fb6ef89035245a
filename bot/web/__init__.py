"""The study console: web pages for staff, an adapter like handlers/ and bot/cli/ (no SQL, no telegram here)."""
