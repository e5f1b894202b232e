"""The web channel: the JSON and multipart requests of POST /api/v1/meldingen (and the citizen form)."""
