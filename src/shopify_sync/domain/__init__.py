"""The pure core: values and functions with no I/O, no framework, no clock, no randomness."""
