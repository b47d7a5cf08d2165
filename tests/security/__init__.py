"""One test per attack of issue 19: each failed on the code before its fix."""
