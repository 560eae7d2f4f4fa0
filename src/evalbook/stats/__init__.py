"""Statistics, pure and at the bottom: confidence intervals (one ``mean_ci``, one Wilson
interval), paired tests, pairwise win rates and Bradley-Terry strengths, inter-rater
agreement. Imports nothing of evalbook but itself; every score that carries an interval
(run aggregates, compare, pairwise, judges) gets it from here.
"""
