"""SMS keyword commands, templates, providers and the outbox dispatcher (filled by the SMS issue)."""
