"""The words a shop's file writes for yes and no, as the importer and the model packages' readers take them."""

# 1.0 and 0.0 too: a 0/1 column with gaps, as pandas keeps it in Parquet (a float column) and writes it to CSV.
TRUE_WORDS = frozenset({"true", "1", "1.0", "yes", "y", "t"})
FALSE_WORDS = frozenset({"false", "0", "0.0", "no", "n", "f", ""})  # an empty cell is no, where there is no default
