"""Reliable text messages: precedence, receipts, a durable outbox and inbox."""
