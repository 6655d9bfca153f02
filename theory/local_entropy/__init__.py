"""Local entropy around reference solutions: Franz-Parisi (uniform references) and large
deviations (references weighted by their local entropy, finite y and y -> infinity)."""
