"""Screen state and actions (视图模型), plain Python without Flet: each screen's logic is tested alone."""
