"""Quality measured against gold standards, through the same code path as production runs."""
