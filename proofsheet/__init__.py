"""Proofsheet: see what an image generation server gives back. `app.py` at the top of the repository serves it."""
