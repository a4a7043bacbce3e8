"""The run engine: executes a CompiledPipeline (never the raw spec) and emits events."""
