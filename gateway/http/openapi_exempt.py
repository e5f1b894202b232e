"""The routes that are no API, and why: HTML pages for people, static files, the desk's workplace.

Kept apart from the path table (gateway/http/openapi_paths.py) so that each stays a readable size;
tests/test_openapi.py checks that every route of the app is either described there or named here.
"""

from __future__ import annotations

# Routes that are no API, and why (tests/test_openapi.py checks every other route is described).
NOT_API: dict[tuple[str, str], str] = {
    ("GET", "/"): "the citizen's web form (an HTML page)",
    ("POST", "/"): "the web form's plain POST (answers HTML, or a redirect)",
    ("GET", "/bedankt/{token}"): "the web form's thank-you page (HTML)",
    ("GET", "/t/{token}"): "the reporter's tracking page (HTML); its data is /t/{token}.json",
    ("GET", "/static"): "form.js, stylesheets and vendored Leaflet / Swagger UI",
    ("*", "/open311/v2/{tail}"): "GeoReport v2's 404 in the spec's error format for what does not exist",
    **{
        route: "the desk's workplace (sub-app /desk): Dutch HTML pages and their form posts, with a session"
        " cookie and CSRF token; scripts use the signed /api/v1/meldingen/{id}/dienst"
        for route in (
            ("GET", "/desk/"),
            ("GET", "/desk/login"),
            ("POST", "/desk/login"),
            ("POST", "/desk/logout"),
            ("GET", "/desk/triage"),
            ("POST", "/desk/triage/{id}/route"),
            ("GET", "/desk/meldingen/{id}"),
            ("POST", "/desk/meldingen/{id}/answer"),
            ("POST", "/desk/meldingen/{id}/ask"),
            ("GET", "/desk/waiting"),
            ("GET", "/desk/duplicates"),
            ("POST", "/desk/duplicates/{id}/confirm"),
            ("POST", "/desk/duplicates/{id}/reject"),
            ("POST", "/desk/meldingen/{id}/split"),
            ("POST", "/desk/meldingen/{id}/deliveries/{delivery}/resend"),
            ("POST", "/desk/meldingen/{id}/dienst"),
            ("POST", "/desk/meldingen/{id}/status"),
            ("GET", "/desk/meldingen/{id}/dossier.pdf"),
            ("GET", "/desk/search"),
            ("GET", "/desk/directory/log"),
            ("GET", "/desk/overview"),
            ("GET", "/desk/overview/charts/{name}.svg"),
            ("GET", "/desk/overview/{name}.csv"),
        )
    },
}
