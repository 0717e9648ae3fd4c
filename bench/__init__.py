"""The scale benchmark: a seeded synthetic catalogue (``bench.generate``) and the timed runs
over it (``bench.run``, ``make bench``). Not part of the installed package."""
