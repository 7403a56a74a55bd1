"""B4 Book library: books, copies, members, loans, renewals, holds, overdue loans and fines."""
