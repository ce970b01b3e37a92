"""The web layer: one blueprint per concern, sharing what they need through context.py."""
