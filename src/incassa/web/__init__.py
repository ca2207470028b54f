"""Server-rendered pages: the dashboard and, later, every page operators work in."""
