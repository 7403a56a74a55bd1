"""B9 + I3 Blog: a RealWorld (Conduit) backend under `/api/blog`, on the platform's own accounts."""
