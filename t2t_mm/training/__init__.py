"""Training: mixture of problems, losses, optimizer, distribution, checkpoints, evaluation."""
