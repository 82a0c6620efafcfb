"""Print-estimate model fitting and evaluation (scikit-learn), seeded, no I/O."""
