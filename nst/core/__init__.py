"""Layer 1, the maths every generation shares: the VGG19 loss network, the losses, the one perceptual
objective (`objective.PerceptualObjective`), the transformer network, colour transforms."""
