"""Layer 2, the methods: Gatys optimisation of an image (`gatys`, `optimizers`) and training the
feedforward networks (`training`).  Both minimise `nst.core.objective.PerceptualObjective`."""
