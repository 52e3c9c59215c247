"""Reward audit (filled below)."""
