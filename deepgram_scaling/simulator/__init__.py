"""The strategy simulator: replay traffic against a synthesized scaling set-up."""
