"""The phone channel: signed call records from the telephony platform."""
