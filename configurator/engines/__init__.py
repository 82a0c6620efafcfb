"""Engines: seeded computations on the core (optimization, farm simulation, model fitting); no I/O."""
