"""The composition root: settings, the Flask app factory, the Celery app and the `urjamitra` CLI."""
