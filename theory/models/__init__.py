"""Models of the engine: each free entropy written once, with its order parameters, box
and cold start (``theory.engine.ReplicaModel``), and the functions that solve it."""
