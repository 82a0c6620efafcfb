"""Estimate use cases: estimates of designs and meshes, training and refits."""
