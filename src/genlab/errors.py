"""User-facing errors: the CLI prints these as one line and exits non-zero."""


class GenlabError(Exception):
    """A mistake the user can fix (bad path, bad config key, wrong checkpoint...)."""
