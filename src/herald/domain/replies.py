"""The automatic replies to opt-out, opt-in and help keywords, in the keyword's language.

When someone texts STOP (or UIT, BAJA, ARRÊT...), Herald records the opt-out and answers once,
in the language of the word they used, saying it worked and how to undo it. `reply_text` picks
the text: the tenant's own for that kind and language, else the tenant's own for that kind,
else Herald's default for the language (English when the language has none).

    >>> reply_text(KeywordKind.HELP, "nl", brand="Jansen")
    'Jansen: stuur STOP om je af te melden, START om je weer aan te melden.'

Texts are templates whose one variable is `{{brand}}`, the name people know the sender by.
The defaults stay within GSM-7 (accented letters outside it are avoided, not dropped) and fit
one SMS segment with a brand of up to 30 characters, so a confirmation costs one segment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from herald.domain.keywords import KeywordKind
from herald.domain.problems import ProblemCode, ProblemError
from herald.domain.templates import Template, render

__all__ = [
    "BRAND_VARIABLE",
    "DEFAULT_LANGUAGE",
    "DEFAULT_REPLIES",
    "ReplyTexts",
    "override_key",
    "reply_text",
    "validate_overrides",
]

BRAND_VARIABLE: Final = "brand"
DEFAULT_LANGUAGE: Final = "en"
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")  # BCP 47-like: nl, pt-BR


@dataclasses.dataclass(frozen=True, slots=True)
class ReplyTexts:
    """The three replies of one language, as templates over `{{brand}}`."""

    opt_out: str
    opt_in: str
    help: str

    def text(self, kind: KeywordKind) -> str:
        """The text answering a keyword of `kind` (`NONE` has no reply: `ValueError`)."""
        if kind is KeywordKind.OPT_OUT:
            return self.opt_out
        if kind is KeywordKind.OPT_IN:
            return self.opt_in
        if kind is KeywordKind.HELP:
            return self.help
        raise ValueError("a message that is not a keyword gets no automatic reply")


# Each names the keyword that undoes the change, in the same language's keyword set
# (herald.domain.keywords), so the person can act on the reply as written.
DEFAULT_REPLIES: Final[Mapping[str, ReplyTexts]] = MappingProxyType(
    {
        "en": ReplyTexts(
            opt_out="{{brand}}: you are unsubscribed and will get no more messages. "
            "Reply START to resubscribe.",
            opt_in="{{brand}}: you are subscribed again. Reply STOP to unsubscribe, HELP for help.",
            help="{{brand}}: reply STOP to unsubscribe, START to resubscribe. "
            "Msg & data rates may apply.",
        ),
        "nl": ReplyTexts(
            opt_out="{{brand}}: je bent afgemeld en ontvangt geen berichten meer. "
            "Stuur START om je weer aan te melden.",
            opt_in="{{brand}}: je bent weer aangemeld. Stuur STOP om je af te melden, "
            "HELP voor hulp.",
            help="{{brand}}: stuur STOP om je af te melden, START om je weer aan te melden.",
        ),
        "de": ReplyTexts(
            opt_out="{{brand}}: Sie sind abgemeldet und erhalten keine Nachrichten mehr. "
            "Antworten Sie START, um sich wieder anzumelden.",
            opt_in="{{brand}}: Sie sind wieder angemeldet. Antworten Sie STOP zum Abmelden, "
            "HILFE für Hilfe.",
            help="{{brand}}: Antworten Sie STOP zum Abmelden, START zum erneuten Anmelden.",
        ),
        # "vous êtes désabonné" would need ê, which is not GSM-7; the wording avoids it.
        "fr": ReplyTexts(
            opt_out="{{brand}} : votre désinscription est enregistrée, vous ne recevrez plus "
            "de messages. Répondez START pour vous réabonner.",
            opt_in="{{brand}} : votre inscription est rétablie. Répondez STOP pour vous "
            "désabonner, AIDE pour de l'aide.",
            help="{{brand}} : répondez STOP pour vous désabonner, START pour vous réabonner.",
        ),
        # á, í, ó and ú are not GSM-7 (é is); the wording needs none of them.
        "es": ReplyTexts(
            opt_out="{{brand}}: tu baja se ha registrado y no te enviaremos otros mensajes. "
            "Responde ALTA para suscribirte de nuevo.",
            opt_in="{{brand}}: tu alta se ha registrado de nuevo. Responde BAJA para darte de "
            "baja, AYUDA para obtener ayuda.",
            help="{{brand}}: responde BAJA para darte de baja, ALTA para suscribirte de nuevo.",
        ),
    }
)
"""Herald's default replies, by the language code of `herald.domain.keywords`."""


def override_key(kind: KeywordKind, language: str | None = None) -> str:
    """The key of a tenant's override: `opt_out` for every language, `opt_out:nl` for one."""
    if kind is KeywordKind.NONE:
        raise ValueError("a message that is not a keyword gets no automatic reply")
    return kind.value if language is None else f"{kind.value}:{language}"


def _template(key: str, text: str) -> Template:
    template = Template(key.replace(":", "."), text)
    unknown = [name for name in template.placeholders if name != BRAND_VARIABLE]
    if unknown:
        raise ProblemError(
            ProblemCode.INVALID_TEMPLATE,
            f"The {key} reply uses {{{{{unknown[0]}}}}}; a reply text may use only "
            f"{{{{{BRAND_VARIABLE}}}}}.",
            field=key,
        )
    return template


def validate_overrides(overrides: Mapping[str, str]) -> None:
    """Refuse a tenant's reply texts that could not be sent, before they are stored.

    Keys are `override_key` values for the kinds opt_out, opt_in and help; texts are templates
    using at most `{{brand}}`. Raises `ProblemError` with code `invalid_template`.
    """
    kinds = {kind.value for kind in KeywordKind if kind is not KeywordKind.NONE}
    for key, text in overrides.items():
        kind, _, language = key.partition(":")
        if kind not in kinds or (":" in key and not _LANGUAGE.fullmatch(language)):
            raise ProblemError(
                ProblemCode.INVALID_TEMPLATE,
                f"{key!r} is not a reply: use opt_out, opt_in or help, optionally followed by "
                "a language code (e.g. opt_out:nl).",
                field=key,
            )
        _template(key, text)


def reply_text(
    kind: KeywordKind,
    language: str | None,
    *,
    brand: str,
    overrides: Mapping[str, str] | None = None,
) -> str:
    """The reply to a keyword of `kind` in `language`, with `brand` filled in.

    `overrides` are the tenant's texts keyed by `override_key`: the one for this language wins
    over the one for every language, which wins over Herald's default.
    """
    if not brand.strip():
        raise ValueError("a reply needs the brand name people know the sender by")
    tenant = overrides or {}
    specific = override_key(kind, language) if language else None
    general = override_key(kind)
    for key in (specific, general):
        if key is not None and key in tenant:
            return render(_template(key, tenant[key]), {BRAND_VARIABLE: brand})
    texts = DEFAULT_REPLIES.get(language or DEFAULT_LANGUAGE, DEFAULT_REPLIES[DEFAULT_LANGUAGE])
    return render(_template(general, texts.text(kind)), {BRAND_VARIABLE: brand})
