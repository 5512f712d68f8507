"""Agent: grounded answers to market-context and risk questions from the project's own data."""
