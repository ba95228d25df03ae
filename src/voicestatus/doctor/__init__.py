"""Pre-flight checks (``voicestatus doctor``), each with its fix."""
