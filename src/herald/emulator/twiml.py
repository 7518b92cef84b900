"""Reading a webhook's answer as Twilio's Messaging does: TwiML `<Message>`s, or plain text.

    <Response>
      <Message to="+1…" from="+1…" statusCallback="https://…">Thanks!</Message>
      <Message><Body>Here it is</Body><Media>https://…/a.png</Media></Message>
    </Response>

An empty answer or `<Response/>` sends nothing. A `text/plain` answer is sent back as one
message, as Twilio does for SMS. Verbs other than `<Message>` (`<Redirect>`) are reported as
ignored. A document that is not TwiML is Twilio's error 12100 (document parse failure), and an
answer of another content type 12300 (invalid Content-Type).

The parser is the standard library's expat, which does not fetch external entities; documents
with a DTD are refused before parsing, so entity expansion ("billion laughs") cannot happen.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final
from xml.etree import ElementTree as ET

PARSE_FAILURE: Final = 12100
INVALID_CONTENT_TYPE: Final = 12300
XML_TYPES: Final = frozenset({"text/xml", "application/xml"})
_DTD: Final = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class TwimlError(ValueError):
    """An answer Twilio could not use; `code` is Twilio's debugger code for it."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyMessage:
    """One message the answer asks Twilio to send."""

    body: str
    media: tuple[str, ...] = ()
    to: str | None = None
    from_: str | None = None
    status_callback: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    """The messages an answer asks for, and the verbs the emulator ignored."""

    messages: tuple[ReplyMessage, ...] = ()
    ignored: tuple[str, ...] = ()


def read_reply(content_type: str | None, body: bytes) -> Reply:
    """What a webhook's answer (its Content-Type and body) asks Twilio to send."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise TwimlError(PARSE_FAILURE, "The answer is not valid UTF-8.") from None
    if not text.strip():
        return Reply()
    if media_type in XML_TYPES or (not media_type and text.lstrip().startswith("<")):
        return parse_twiml(text)
    if media_type == "text/plain":
        return Reply(messages=(ReplyMessage(body=text.strip()),))
    raise TwimlError(
        INVALID_CONTENT_TYPE,
        f"Content-Type {media_type or '(none)'} is neither TwiML (text/xml) nor text/plain.",
    )


def parse_twiml(text: str) -> Reply:
    """The `<Message>` verbs of a TwiML document."""
    if _DTD.search(text):
        raise TwimlError(PARSE_FAILURE, "TwiML with a DTD or entity declarations is refused.")
    try:
        root = ET.fromstring(text)  # noqa: S314 - no DTD (checked above), expat fetches nothing
    except ET.ParseError as exc:
        raise TwimlError(PARSE_FAILURE, f"The answer is not well-formed XML: {exc}.") from None
    if root.tag != "Response":
        raise TwimlError(PARSE_FAILURE, f"The TwiML root is <{root.tag}>, not <Response>.")
    messages: list[ReplyMessage] = []
    ignored: list[str] = []
    for verb in root:
        if verb.tag == "Message":
            messages.append(_message(verb))
        else:
            ignored.append(verb.tag)
    return Reply(messages=tuple(messages), ignored=tuple(ignored))


def _message(verb: ET.Element) -> ReplyMessage:
    parts = [verb.text or ""]
    media: list[str] = []
    for child in verb:
        if child.tag == "Body":
            parts.append(child.text or "")
        elif child.tag == "Media":
            url = (child.text or "").strip()
            if url:
                media.append(url)
        else:
            raise TwimlError(PARSE_FAILURE, f"<Message> cannot contain <{child.tag}>.")
        parts.append(child.tail or "")
    return ReplyMessage(
        body="".join(parts).strip(),
        media=tuple(media),
        to=verb.get("to"),
        from_=verb.get("from"),
        status_callback=verb.get("statusCallback"),
    )
