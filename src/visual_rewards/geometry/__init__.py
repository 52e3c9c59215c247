"""Pure array functions: box geometry, matching, coordinate spaces and label normalisation.

Nothing here parses model text or knows about rewards; every function takes and returns
numpy arrays (or plain strings for labels) and documents their shapes.
"""
