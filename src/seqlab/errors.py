"""The one exception type for mistakes a user can fix: a bad config value, a bad data file."""


class SeqlabError(Exception):
    """An error whose message says what is wrong and how to fix it; shown without a traceback."""
