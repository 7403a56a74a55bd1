"""What the shortener keeps per app (`app.state.shortener`): the link policy, the redirect's
resolver and cache, and the click recorder."""

from __future__ import annotations

from dataclasses import dataclass

from sixty.shortener.clicks import ClickRecorder
from sixty.shortener.redirects import LinkCache, LinkResolver
from sixty.shortener.service import LinkPolicy


@dataclass(frozen=True)
class Shortener:
    policy: LinkPolicy
    resolver: LinkResolver
    clicks: ClickRecorder

    @property
    def cache(self) -> LinkCache:
        return self.resolver.cache
