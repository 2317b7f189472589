"""Text for people: sentences built around names from ITSM read as written sentences."""

import re

# Two full stops and no third: a sentence's own after a name's ("Northwind Insurance Inc.").
_DOUBLE_STOP = re.compile(r"(?<!\.)\.\.(?!\.)")


def one_full_stop(text: str) -> str:
    """text with a name's full stop and the sentence's after it made one ("Inc.." reads "Inc.");
    an ellipsis of three stops stays."""
    return _DOUBLE_STOP.sub(".", text)
