"""Results: the schema of a result file, the store, the identity rule, validation and the one reader."""
