"""B11 + A11 files: streamed uploads (multipart, raw, tus, presigned), downloads with ranges, dedup."""
