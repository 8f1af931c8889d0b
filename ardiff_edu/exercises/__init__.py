"""Checkers for the exercises at the end of every notebook (one module per notebook: ``ardiff_edu.exercises.nbNN``).

Each notebook from 01 on ends with numbered exercises (``### Exercise 1``, ``### Exercise 2``, ...). The student
writes something, then calls the exercise's checker with it; the checker runs it against the package and answers in
one line: right, or what is wrong (with the first input where it differs). A worked solution follows in a collapsed
cell (tag ``solution``), which the test suite runs like any other cell.
"""

from __future__ import annotations

__all__ = ["Result", "passed", "failed", "call"]


class Result:
    """What a checker returns: truthy when right; prints its one-line message in a notebook."""

    def __init__(self, ok: bool, message: str):
        self.ok, self.message = bool(ok), message

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return ("✔ right: " if self.ok else "✘ not yet: ") + self.message

    _repr_pretty_ = lambda self, p, cycle: p.text(repr(self))  # noqa: E731


def passed(message: str) -> Result:
    return Result(True, message)


def failed(message: str) -> Result:
    return Result(False, message)


def call(fn, *args, case: str | None = None, convert=None):
    """Run the student's ``fn(*args)``: ``(value, None)``, or ``(None, failure)`` naming what it raised (a function
    still raising ``NotImplementedError`` is reported as not written yet). ``case`` names the input in the message
    (``"for F=16, S=50"``); ``convert`` turns the answer into what the checker compares (``float``, a tuple of ints),
    and an answer it cannot convert is reported like an error."""
    where = f"{case}: " if case else ""
    try:
        value = fn(*args)
        return (convert(value) if convert is not None else value), None
    except NotImplementedError:
        return None, failed(f"{where}{getattr(fn, '__name__', 'your function')} raises NotImplementedError: write it "
                            f"first")
    except Exception as err:  # noqa: BLE001 - any error of the student's code is reported, not raised
        return None, failed(f"{where}it raised {type(err).__name__}: {err}")
