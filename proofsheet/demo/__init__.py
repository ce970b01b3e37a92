"""The built-in demo image server (`python -m proofsheet.demo.server`, or `app.py --demo`): a separate program that
speaks the OpenAI images protocol and draws labelled placeholders with Pillow. Its loopback server also serves the
tests' fakes."""
