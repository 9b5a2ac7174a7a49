"""Simulated fluoroscopy (issue 4): C-arm geometry, image formation, dose."""
