"""B15 Feedback collector: forms, responses through a link, aggregates, CSV export, moderation."""
