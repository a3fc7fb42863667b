"""`topicgen sweep`: one experiment over a grid of parameter points, through the result cache.

    grid.py     the `-p` specs parsed into the points (pure: no torch, no matplotlib)
    run.py      each point resolved, run through the cache, and the files published
    data.py     sweep.csv and sweep.json from the points' results
    figure.py   one figure per scalar: its value against the first swept parameter
"""
