"""Reports and pictures made off-screen (no Qt): anatomy views, later fluoroscopy shots and scores."""
