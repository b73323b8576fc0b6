"""Fault injection for the reliability tests: kill points and an execution trace, outside the product."""
