"""Pure policy: categories, approval rules, fingerprints, segregation of duties, the gate."""
