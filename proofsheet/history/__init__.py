"""The history: SQLite and files in the data folder, its lock, and the command-line check and backup."""
