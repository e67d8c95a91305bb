"""The words a shop's file writes for yes and no, as the importer and the model packages' readers take them."""

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", ""})  # an empty cell is no, where the column has no default
