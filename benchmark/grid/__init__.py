"""The run grid: datasets × methods × backbones × seeds as stage-1 jobs, and where they run."""
