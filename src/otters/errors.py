"""One exception type for every user-facing error.

The CLI turns an :class:`OttersError` into one line on stderr and exit code 2, no traceback.
Library code raises it for bad input (wrong T, non-finite data, missing files, unknown task), with a
message that says what is wrong and what to do.
"""


class OttersError(ValueError):
    """Bad input or an impossible request; the message is shown to the user as is."""
