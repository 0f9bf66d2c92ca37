"""Cycling stage races: the general, points, mountains and team classifications.

``classify`` computes them from the stages' results (pure functions); ``selectors``
reads what it needs in a fixed number of queries; ``views`` shows them at
``/stage-races/EVENT/``.
"""
