"""The HTTP app: factory, routes, views and their templates."""
