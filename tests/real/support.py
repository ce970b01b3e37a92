"""Helpers of the real-server tests (not fixtures)."""

LITELLM_KEY = "sk-litellm-master-0123456789"
