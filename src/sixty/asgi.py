"""The ASGI entry point for servers: `uvicorn sixty.asgi:app` (settings from the environment)."""

from sixty.core.config import Settings
from sixty.core.logging import configure_logging
from sixty.main import create_app

settings = Settings()
configure_logging(settings.log_level, json=settings.log_json)
app = create_app(settings)
