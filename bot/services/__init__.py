"""Use cases. Async, keyword-only, take an AsyncSession, commit once at the end. No Telegram here."""
