"""Pure domain logic: values in, values out; no I/O, no environment reads."""
