"""FPN-MAA training, teachers (AU/VA from geometry), export: see models/README.md."""
