"""`topicgen sweep`: one experiment over a grid of parameter points, through the result cache.

    grid.py     the `-p` specs parsed into the points (pure: no torch, no matplotlib)
"""
