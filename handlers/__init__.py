"""Telegram handlers: parse the update, call one service, reply with translated text. No SQL here."""
