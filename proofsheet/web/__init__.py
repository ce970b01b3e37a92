"""The web layer: one blueprint per concern; what they share lives in modules that define no blueprint (context,
errors, forms, guards, streaming, templating, snippets), and no blueprint imports another."""
