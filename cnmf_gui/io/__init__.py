"""Reading movies and writing session files and exports (never imports Qt)."""
