"""Helpers the test modules share: stand-ins for the gateway's peers, request builders, paths.

Test modules import from here, never from each other or from conftest.py (which holds only
the fixtures). One module per peer or channel, so a helper is found where its subject is.
"""
