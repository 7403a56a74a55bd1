"""B13 Converters: JSON arrays or NDJSON to CSV and CSV to JSON, streamed with flat memory."""
