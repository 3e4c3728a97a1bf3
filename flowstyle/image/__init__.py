"""Images: reading and writing (io) and geometry (transforms)."""
