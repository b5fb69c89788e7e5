"""Corral's full-screen Textual app. Imports backend; backend never imports this."""
