"""B10 URL shortener: short links at `/api/links`, redirects at `/s/{code}`."""
