"""B8 Calculator: exact decimal evaluation of arithmetic expressions, by a parser of our own."""
