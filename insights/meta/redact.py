"""Last line of defence: mask anything token-shaped before a log record is written.

The Meta client never puts tokens in URLs or messages; this filter catches what a library might
(urllib3 logs request lines at DEBUG, exceptions carry URLs).
"""

import logging
import re

_PATTERNS = [
    # access_token=..., client_secret=..., code=..., fb_exchange_token=..., signed_request=...
    re.compile(
        r"(?i)((?:access_token|input_token|client_secret|fb_exchange_token|code|signed_request"
        r"|appsecret_proof)=)[^&\s'\"]+"
    ),
    re.compile(r"(?i)(authorization:?\s*(?:bearer|oauth)\s+)[^\s'\"]+"),
    re.compile(r"(?i)(['\"](?:access_token|client_secret|token)['\"]\s*:\s*['\"])[^'\"]+"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = str(exc)
            if redact(text) != text:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
