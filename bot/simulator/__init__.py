"""A loopback Telegram Bot API and simulated users, shared by tests, the demo and the benchmarks."""
