"""B18 Currency converter: ECB reference rates, exact conversion."""
