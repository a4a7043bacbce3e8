"""`agentctl diff`: what a change does to prompts, pipelines, schemas and worst-case cost."""
