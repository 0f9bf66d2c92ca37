"""Series and championships: points per rank, best N of M, tie-breaks, stored standings.

``scoring`` turns ranks into points and standings (pure functions, no database);
``recompute`` reads the counted races' results and stores the standings, and runs
whenever results send ``results.signals.results_changed`` for a counted race.
"""
