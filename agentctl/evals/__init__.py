"""`agentctl eval`: a pipeline run over a dataset, every row checked, the batch reported."""
