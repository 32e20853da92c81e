"""Languages of what a person reads: API error details and SMS texts. Chinese first (zh-CN), English.

The English text written in the code is both a message's key and its English rendering;
`messages.zh-CN.json` maps each key to Chinese. Placeholders are named (`{limit}`) and filled from
the error's context, so a message never needs an f-string. Kernel layer: no HTTP, no database.
"""

from __future__ import annotations

from shared.i18n.messages import EN, LANGUAGES, ZH, catalogue, fill, placeholders, translate
from shared.i18n.negotiation import negotiate

__all__ = ["EN", "LANGUAGES", "ZH", "catalogue", "fill", "negotiate", "placeholders", "translate"]
