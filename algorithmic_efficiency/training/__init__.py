"""Training: one trial's loop (timing, evals, stop rules) and the sweep over trials."""
