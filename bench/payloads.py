"""Crafted CTEK payloads at the size cap, and the CPU the parser spends on each.

QUALITY.md section 3: no payload, however crafted, may cost more than a few
milliseconds of Home Assistant's event loop. Each payload here is exactly
the parser's size cap and aims at one way a parser can be slow: scanning
that restarts at every quote, recursion, big-number conversion, the
fallback for bare ``nan`` tokens, long strings. ``p1_worst_payload_ms`` is
the worst of them (target: at most 5 ms).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
import logging
import math
import time

from custom_components.evse_bridge.api import ctek

CHARGER_ID = "WORST1"
"""The charger id the payloads are published under."""


@dataclass(frozen=True)
class Payload:
    """One crafted message: which topic kind it goes to, and its text."""

    name: str
    kind: str
    text: str


def _fill(head: str, unit: str, tail: str, size: int) -> str:
    """Return ``head + unit * n + tail`` padded with blanks to exactly ``size``."""
    count = (size - len(head) - len(tail)) // len(unit)
    body = head + unit * count + tail
    return body + " " * (size - len(body))


def _exact(text: str, size: int) -> str:
    """Cut or pad a payload to exactly ``size`` bytes (ASCII only)."""
    return text[:size] + " " * (size - len(text))


def adversarial_payloads(size: int = ctek.MAX_PAYLOAD_BYTES) -> list[Payload]:
    """Return the crafted payloads, each exactly ``size`` bytes of ASCII."""
    digits = "9" * 4000  # under Python's 4300-digit limit for int()
    return [
        # Unterminated strings of escaped quotes: a scan for string literals
        # that restarts at every quote reads to the end each time.
        Payload("escaped_quotes", "em", _fill('{"energy": "', '\\"', "", size)),
        Payload("escaped_quotes_bare", "em", _fill("", '"\\"', "", size)),
        Payload("quotes", "em", _fill("", '"', "", size)),
        # Deep nesting: recursion in the JSON decoder.
        Payload("nested_arrays", "em", _exact("[" * size, size)),
        Payload("nested_objects", "em", _fill("", '{"a":', "", size)),
        # Numbers: conversion of long digit strings, overflow to float.
        Payload("huge_integer", "em", _fill('{"energy": ', "9", "}", size)),
        Payload(
            "big_integers",
            "em",
            _fill('{"current": [', digits + ",", digits + "]}", size),
        ),
        Payload(
            "overflowing_energy",
            "em",
            _fill('{"energy": ' + "9" * 400 + ', "pad": "', "x", '"}', size),
        ),
        Payload("huge_exponent", "em", _fill('{"energy": 1e', "9", "}", size)),
        # Bare nan tokens (invalid JSON the CCU may send): the fallback path.
        Payload("nan_tokens", "em", _fill('{"current": [', "nan,", "nan]}", size)),
        Payload(
            "nan_tokens_and_quotes",
            "em",
            _fill('{"current": [', 'nan,"\\"",', "nan]}", size),
        ),
        Payload("nan_in_open_string", "em", _fill('{"energy": "', "nan ", "", size)),
        # Long strings where a number or a state code belongs.
        Payload("long_number_string", "em", _fill('{"energy": "', "1", '"}', size)),
        Payload("long_state", "status", _fill('{"state": "', "A", '"}', size)),
        Payload(
            "unicode_escapes", "status", _fill('{"state": "', "\\u00e9", '"}', size)
        ),
        Payload("many_keys", "em", _many_keys(size)),
        Payload("blanks", "em", _fill("{", " ", "}", size)),
    ]


def _many_keys(size: int) -> str:
    pairs = []
    length = 2
    number = 0
    while length + len(f'"k{number}":0,') < size:
        pairs.append(f'"k{number}":0')
        length += len(pairs[-1]) + 1
        number += 1
    return _exact("{" + ",".join(pairs) + "}", size)


def topic_of(payload: Payload) -> str:
    """Return the topic a payload is published on (an EVSE's, so every kind counts)."""
    return f"{ctek.DEFAULT_BASE_TOPIC}/{CHARGER_ID}/evse1/{payload.kind}"


@dataclass(frozen=True)
class Timing:
    """The least CPU one ``handle_message`` took, and what it did."""

    ms: float
    outcome: str


@contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Keep a logger's warnings (one per unknown state code) off the console."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _outcome(handle: Callable[[], object]) -> str:
    try:
        update = handle()
    except ctek.CtekError as err:
        return f"refused ({type(err).__name__})"
    except Exception as err:  # noqa: BLE001 - the benchmark reports any escape
        return f"raised {type(err).__name__} (a foreign exception)"
    return "ignored" if update is None else "accepted"


def time_handling(payload: Payload, repetitions: int) -> Timing:
    """Time CtekCharger.handle_message on a payload: the least of repetitions.

    A fresh charger each time, so no repetition sees another's state. CPU
    time of this thread, as the event loop would spend it.
    """
    best = math.inf
    outcome = ""
    with _quiet(ctek.__name__):
        for _ in range(repetitions):
            charger = ctek.CtekCharger(ctek.DEFAULT_BASE_TOPIC, CHARGER_ID)
            topic = topic_of(payload)
            start = time.thread_time_ns()
            outcome = _outcome(lambda: charger.handle_message(topic, payload.text))  # noqa: B023 - called at once
            best = min(best, (time.thread_time_ns() - start) / 1e6)
    return Timing(best, outcome)
