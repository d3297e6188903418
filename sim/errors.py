"""Errors raised for bad user input.

Everything the user can get wrong (a scenario key, a file, a value out of
range) raises :class:`InputError` with a message that names what is wrong and
where.  The CLI turns it into one line on stderr and exit status 2; the GUI
into an error dialog.  Anything else escaping is a bug.
"""


class InputError(Exception):
    """Bad input: the message names the file/key/value at fault and what is allowed."""
