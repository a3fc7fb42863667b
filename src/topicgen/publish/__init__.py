"""Publishing: turn rendered pages into the files a reader opens."""
