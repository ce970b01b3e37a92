"""Talking to image servers: the HTTP client, cutting a generation off, the model list."""
