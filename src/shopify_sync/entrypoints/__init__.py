"""Entrypoints: the command line and the web app; they read settings and call the services."""
