"""freepbx."""
