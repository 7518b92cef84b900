"""Warnings about a message that do not stop it: costly encodings, one-way senders and the like.

Each has a stable `code` (`WarningCode`), a `detail` for people and JSON-ready `data`. The send
policy attaches them to its `SendPlan`; the API returns them with the message and the preview.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from herald.domain.segments import SegmentInfo

__all__ = [
    "RECOMMENDED_MAX_SEGMENTS",
    "SendWarning",
    "WarningCode",
    "segment_warnings",
]

RECOMMENDED_MAX_SEGMENTS: Final = 10
"""Twilio recommends no more than ten segments per SMS; more draw a warning."""


class WarningCode(enum.StrEnum):
    """Things worth knowing about a message that do not stop it being sent."""

    UCS2_ENCODING = "ucs2_encoding"
    LONG_UNICODE_BODY = "long_unicode_body"
    MANY_SEGMENTS = "many_segments"
    ONE_WAY_SENDER = "one_way_sender"
    SENDER_REGISTRATION_REQUIRED = "sender_registration_required"
    SENDER_COUNTRY_UNKNOWN = "sender_country_unknown"
    SEND_AT_PAST = "send_at_past"
    UNUSED_VARIABLES = "unused_variables"


@dataclasses.dataclass(frozen=True, slots=True)
class SendWarning:
    """A warning with a stable `code`, a `detail` for people and JSON-ready `data`."""

    code: WarningCode
    detail: str
    data: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def as_dict(self) -> dict[str, Any]:
        """The warning as JSON-ready values: `code`, `detail` and the members of `data`."""
        return {"code": self.code.value, "detail": self.detail, **self.data}


def segment_warnings(info: SegmentInfo, *, body_limit: int) -> list[SendWarning]:
    """The warnings an SMS body's segment analysis calls for.

    UCS-2 is named with the characters that force it and what replacing them would save; a
    UCS-2 body of more than `body_limit` UTF-16 code units is flagged, since Twilio's error
    page for 21617 says such characters can reach the limit sooner; and more segments than
    Twilio recommends are flagged, since each is billed as one SMS.
    """
    warnings = []
    if info.encoding == "UCS-2":
        warnings.append(_ucs2(info))
        if info.units > body_limit:
            warnings.append(
                SendWarning(
                    WarningCode.LONG_UNICODE_BODY,
                    f"The body takes {info.units:,} UTF-16 code units; Twilio says characters "
                    f"outside GSM-7 can make a body reach its {body_limit:,}-character limit "
                    "sooner (error 21617).",
                    {"units": info.units},
                )
            )
    if info.segments > RECOMMENDED_MAX_SEGMENTS:
        warnings.append(
            SendWarning(
                WarningCode.MANY_SEGMENTS,
                f"The body takes {info.segments} segments, each billed as one SMS; Twilio "
                f"recommends at most {RECOMMENDED_MAX_SEGMENTS}.",
                {"segments": info.segments},
            )
        )
    return warnings


def _ucs2(info: SegmentInfo) -> SendWarning:
    culprits = list(dict.fromkeys(info.non_gsm))
    saved = info.segments_saved
    saving = ""
    if saved is not None and saved > 0:
        saving = (
            f"; replacing them with GSM-7 look-alikes would take {info.segments - saved} "
            f"segment(s) instead of {info.segments}"
        )
    return SendWarning(
        WarningCode.UCS2_ENCODING,
        "The body is sent as UCS-2 (70 characters a segment, 67 when split) because of "
        f"{', '.join(map(repr, culprits))}{saving}.",
        {
            "characters": culprits,
            "suggestions": [
                {"character": each.grapheme, "replacement": each.replacement}
                for each in info.suggestions
            ],
            "segments_saved": saved,
        },
    )
