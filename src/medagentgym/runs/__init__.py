"""Trajectories, run folders and reports."""
