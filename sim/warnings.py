"""The project's own warning category (an error in the test suite)."""


class TickscopeWarning(UserWarning):
    """Something suspicious in the user's input that does not stop the run."""
