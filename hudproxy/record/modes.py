"""Record modes, as in vcrpy, so the name says what happens to new and known requests.

| mode          | known request (in the cassette) | new request                         |
|---------------|---------------------------------|-------------------------------------|
| once          | replayed                        | recorded if the cassette did not exist at start, else refused |
| new_episodes  | replayed                        | forwarded and appended              |
| all           | forwarded and appended again    | forwarded and appended              |
| none          | replayed                        | refused                             |
"""

from __future__ import annotations

from hudproxy.choices import Choice


class RecordMode(Choice):
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"
    NONE = "none"

    @classmethod
    def option_name(cls) -> str:
        return "record mode"

    @classmethod
    def valid_label(cls) -> str:
        return "valid record modes"

    def explain(self, cassette_existed: bool) -> str:
        """One line for the terminal at start, so nobody is surprised by what the mode does."""
        if self is RecordMode.ONCE and cassette_existed:
            return (
                "record mode 'once': the cassette exists, so it is replayed and new requests are refused "
                "(use --record-mode new_episodes to add to it, or all to re-record)."
            )
        if self is RecordMode.ONCE:
            return "record mode 'once': every request is forwarded to the target and recorded."
        if self is RecordMode.NEW_EPISODES:
            return "record mode 'new_episodes': known requests are replayed, new ones forwarded and recorded."
        if self is RecordMode.ALL:
            return "record mode 'all': every request is forwarded and recorded; nothing is replayed."
        return "record mode 'none': the cassette is replayed and nothing is forwarded or recorded."
