"""The image panels (grid, linked views, levels), their export capture, the metrics strip."""
