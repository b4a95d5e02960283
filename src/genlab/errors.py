"""User-facing errors: the CLI prints these as one line and exits with the error's code (docs/reliability.md)."""

import signal


class GenlabError(Exception):
    """A mistake the user can fix (bad path, bad config key, wrong checkpoint...): exit code 2."""

    exit_code = 2


class TrainingDiverged(GenlabError):
    """Training stopped because its losses stayed non-finite; the last good checkpoint is kept: exit code 3."""

    exit_code = 3


class TrainingInterrupted(GenlabError):
    """SIGINT or SIGTERM stopped training after saving a checkpoint: exit code 128 + the signal's number."""

    def __init__(self, message: str, signum: int = signal.SIGTERM):
        super().__init__(message)
        self.exit_code = 128 + int(signum)
