"""Results cached by content hash, so unchanged experiments are never rerun."""
