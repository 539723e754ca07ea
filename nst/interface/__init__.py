"""Layer 3, the common interface: `base.Stylizer` and its three generations — `gatys.GatysStylizer`,
`feedforward.JohnsonStylizer` and `feedforward.DumoulinStylizer` (``save``, ``export``, ``add_style``,
``fine_tune``)."""
