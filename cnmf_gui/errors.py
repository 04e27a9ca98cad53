"""Exceptions shared by every layer.

A :class:`UserError` is a problem with what the user gave us (a file, a parameter, a request):
the command line prints its message on one line and exits with status 2; the GUI shows it in a
dialog. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A bad file, a bad parameter or an impossible request.

    The message must name the file or parameter and say what was expected, in one line.
    """


class InputFileError(UserError):
    """A movie or session file that is missing, unreadable, corrupt or of the wrong layout."""


class SeveralMoviesError(InputFileError):
    """A file holds several movies (HDF5 datasets, NWB imaging series) and none was named.

    ``choices`` are the names to pass as ``dataset=`` (``--dataset``), in the file's order, and
    ``labels`` one line per choice for a person (name, shape, kind), so a window can ask.
    """

    def __init__(self, message: str, choices: list[str], labels: list[str]):
        super().__init__(message)
        self.choices = list(choices)
        self.labels = list(labels)


class ParameterError(UserError, ValueError):
    """A parameter that is unknown or outside its allowed range."""


class Cancelled(Exception):
    """Raised at a checkpoint when the user asked a long computation to stop.

    Whoever raises it must leave no half-written file behind.
    """
