"""The tools a user would otherwise pick, run the way their own documentation shows: each a script that a
suite starts in its own process and reads back as JSON."""
