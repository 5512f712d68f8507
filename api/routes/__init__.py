"""Thin routers: parse the request, call the store or the index, shape the response."""
