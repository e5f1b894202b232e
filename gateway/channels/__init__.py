"""Channels: each turns its own input into a `MeldingDraft` and hands it to intake."""
