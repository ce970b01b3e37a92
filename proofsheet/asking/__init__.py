"""Reading what a person asks for: a generation, an edit, a comparison grid, a blind vote."""
