"""Open311 GeoReport v2 at `/open311/v2/` (README "Open311 GeoReport v2"): existing reporting apps
post service requests, which become meldingen of channel `open311`, and read their status back.

`services` names the service types (the diensten), `xmlout` renders the spec's XML, `formats`
answers in JSON or XML, `submit` turns a POST into a melding, `requests` shows meldingen as service
requests, `views` holds the handlers.
"""
