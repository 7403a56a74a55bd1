"""B7 Contact form: validated messages, spam guards, staff inbox, notification mail."""
