"""Telegram follow-up for the IL-2 SLE infection study."""
