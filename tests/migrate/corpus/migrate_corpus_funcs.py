"""Callables the dag-factory corpus names by dotted path (importable in both test environments)."""


def produce_numbers():
    return [1, 2, 3]


def double(number=0, factor=2):
    return number * factor


def pick_branch():
    return "left"


def always_true():
    return True


def report(total=None, label="x"):
    return f"{label}: {total}"


def notify_failure(context):
    return None


def notify_success(context):
    return None


from airflow.sdk.bases.notifier import BaseNotifier  # noqa: E402


class CorpusNotifier(BaseNotifier):
    """A notifier taking an argument, as dag-factory's `{callback: Class, arg: ...}` form builds it."""

    def __init__(self, channel="ops"):
        super().__init__()
        self.channel = channel

    def notify(self, context):
        return None


def sizes():
    return {"small": 1, "large": 9}


def commands():
    return ["echo small", "echo large"]
