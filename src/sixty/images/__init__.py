"""I14 image compressor: resize, convert and compress uploads; signed variants of stored files."""
