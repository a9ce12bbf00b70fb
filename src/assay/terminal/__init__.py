"""What assay prints: tables (tables.py) and progress bars (progress.py), escaped and
sized for a terminal."""
