"""The Qt views: one widget per file, a main window that only wires them, and the worker."""
