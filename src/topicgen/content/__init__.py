"""Content: the topic's metadata, its Markdown chapters, labels and live values."""
