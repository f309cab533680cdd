"""Shared simulator machinery: fault injection, an in-process uvicorn runner and a CLI."""
