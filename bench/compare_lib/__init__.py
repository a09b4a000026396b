"""Helpers of bench/compare: measuring commands, driving each backup tool,
estimating the machine's limit and printing the report."""
