"""The logging configuration, shared by Django's settings and gunicorn's master process.

Standard library only: gunicorn reads it before Django is set up. Every handler goes through the
token-redacting filter (insights/meta/redact.py), and both formatters redact their final output
again, because JSON lines also carry `extra` fields and formatted tracebacks the filter never sees.
"""

FORMATS = ("plain", "json")


def logging_config(log_format: str = "plain", level: str = "INFO") -> dict:
    if log_format not in FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "config.observability.ContextFilter"},
            "redact": {"()": "insights.meta.redact.RedactSecretsFilter"},
        },
        "formatters": {
            "plain": {
                "()": "config.observability.RedactingPlainFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s%(ids)s %(message)s",
            },
            "json": {
                "()": "config.observability.RedactingJsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["context", "redact"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own config gives "django" a console handler of its own when DEBUG is on
            # (no redaction: `make run` printed share tokens in 404 paths) and mails errors to
            # ADMINS with the request: only this handler.
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # runserver's access log prints query strings (OAuth codes): through this handler.
            "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "INFO"},
            "urllib3": {"level": "WARNING"},
            # gunicorn's own loggers, through the same handler (JSON, redaction).
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # gunicorn writes an access log whenever a logging config is given (even with
            # accesslog = None), with query strings. prism.request logs each request instead.
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
